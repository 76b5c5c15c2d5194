/* duphandle: the Winsock 1.1 variant from KB Q198663 (wsock32 + DuplicateHandle).
 * Links wsock32 only, so it runs on a Windows 95 without the Winsock 2 update. */
#include "cycle.h"

static int give(SOCKET s, DWORD pid, HANDLE process, void *payload, unsigned *len)
{
    HANDLE copy;
    DWORD value;
    (void)pid;
    if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)s, process, &copy, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
        return (int)GetLastError();
    }
    value = (DWORD)(size_t)copy;
    memcpy(payload, &value, sizeof value);
    *len = sizeof value;
    return 0;
}

static SOCKET take(const void *payload, unsigned len, int *err)
{
    DWORD value;
    if (len != sizeof value) {
        *err = WSAEINVAL;
        return INVALID_SOCKET;
    }
    memcpy(&value, payload, sizeof value);
    return (SOCKET)value;
}

static const struct dup_method duplicate_handle = {
    "duphandle", MAKEWORD(1, 1), "DuplicateHandle", "inherited-value", give, take, 0, 0, 0
};

int rt_main(int argc, char **argv)
{
    return cycle_main(argc, argv, &duplicate_handle);
}
