/* SYSINFO: what the lab needs to know about the guest, as key=value lines. */
#include "agent.h"

typedef const char *(__cdecl *wine_version_fn)(void);

static unsigned long add(unsigned long at, const char *key, const char *value)
{
    char line[300];
    unsigned n = (unsigned)rt_fmt(line, sizeof line, "%s=%s\n", key, value);
    if (at + n > MAX_PAYLOAD) {
        return at;
    }
    memcpy(reply_payload() + at, line, n);
    return at + n;
}

static unsigned long add_ulong(unsigned long at, const char *key, unsigned long value)
{
    char text[16];
    rt_fmt(text, sizeof text, "%lu", value);
    return add(at, key, text);
}

static int loads(const char *dll)
{
    HMODULE h = LoadLibraryA(dll);
    if (h == NULL) {
        return 0;
    }
    FreeLibrary(h);
    return 1;
}

/* Keeps only what a key=value line can carry. */
static void printable(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20) {
            *s = ' ';
        }
    }
}

int do_sysinfo(unsigned long *len)
{
    OSVERSIONINFOA vi;
    HMODULE ntdll;
    wine_version_fn wine_version;
    HKEY key;
    DWORD type, size, dword;
    char value[128];
    unsigned long at = 0;

    memset(&vi, 0, sizeof vi);
    vi.dwOSVersionInfoSize = sizeof vi;
    if (GetVersionExA(&vi)) {
        at = add_ulong(at, "os.platform", vi.dwPlatformId);
        at = add_ulong(at, "os.major", vi.dwMajorVersion);
        at = add_ulong(at, "os.minor", vi.dwMinorVersion);
        /* Win9x keeps the version in the high word of dwBuildNumber. */
        at = add_ulong(at, "os.build", vi.dwPlatformId == VER_PLATFORM_WIN32_NT ? vi.dwBuildNumber : vi.dwBuildNumber & 0xFFFF);
        vi.szCSDVersion[sizeof vi.szCSDVersion - 1] = 0;
        printable(vi.szCSDVersion);
        at = add(at, "os.csd", vi.szCSDVersion);
    }
    ntdll = GetModuleHandleA("ntdll.dll");
    wine_version = ntdll ? (wine_version_fn)(void (*)(void))GetProcAddress(ntdll, "wine_get_version") : NULL;
    if (wine_version != NULL) {
        rt_strlcpy(value, wine_version(), sizeof value);
        printable(value);
        at = add(at, "wine.version", value);
    }
    at = add(at, "dll.ws2_32", loads("ws2_32.dll") ? "1" : "0");
    at = add(at, "dll.iphlpapi", loads("iphlpapi.dll") ? "1" : "0");
    if (RegOpenKeyExA(HKEY_LOCAL_MACHINE, "System\\CurrentControlSet\\Services\\VxD\\MSTCP", 0, KEY_READ, &key) ==
        ERROR_SUCCESS) {
        size = sizeof value - 1;
        if (RegQueryValueExA(key, "MaxConnections", NULL, &type, (LPBYTE)value, &size) == ERROR_SUCCESS) {
            if (type == REG_DWORD && size == 4) {
                memcpy(&dword, value, 4);
                at = add_ulong(at, "mstcp.maxconnections", dword);
                at = add(at, "mstcp.maxconnections.type", "dword");
            } else if (type == REG_SZ) {
                value[size < sizeof value ? size : sizeof value - 1] = 0;
                printable(value);
                at = add(at, "mstcp.maxconnections", value);
                at = add(at, "mstcp.maxconnections.type", "string");
            }
        }
        RegCloseKey(key);
    }
    *len = at;
    return REP_OK;
}
