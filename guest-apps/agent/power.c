/* SHUTDOWN: validated before the OK goes out, carried out after it. */
#include "agent.h"

int do_shutdown_check(const unsigned char *p, unsigned long n, unsigned long *len, int *mode)
{
    if (n != 1 || p[0] > 1) {
        return reply_error(len, ERR_BAD_REQUEST, 0, "SHUTDOWN takes one byte, 0 (power off) or 1 (reboot)");
    }
    *mode = p[0];
    *len = 0;
    return REP_OK;
}

static void enable_shutdown_privilege(void)
{
    HANDLE token;
    TOKEN_PRIVILEGES tp;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token)) {
        rt_eprintf("agent: OpenProcessToken failed: Win32 error %lu\r\n", GetLastError());
        return;
    }
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    if (!LookupPrivilegeValueA(NULL, SE_SHUTDOWN_NAME, &tp.Privileges[0].Luid) ||
        !AdjustTokenPrivileges(token, FALSE, &tp, 0, NULL, NULL)) {
        rt_eprintf("agent: enabling SeShutdownPrivilege failed: Win32 error %lu\r\n", GetLastError());
    }
    CloseHandle(token);
}

void shutdown_now(int mode)
{
    UINT flags = mode == 1 ? EWX_REBOOT | EWX_FORCE : EWX_SHUTDOWN | EWX_POWEROFF | EWX_FORCE;
    if (is_wine()) {
        rt_eprintf("agent: shutdown requested under Wine: exiting\r\n");
        ExitProcess(0);
    }
    if (is_nt()) {
        enable_shutdown_privilege();
    }
    if (!ExitWindowsEx(flags, 0)) {
        rt_eprintf("agent: ExitWindowsEx(0x%x) failed: Win32 error %lu; still serving\r\n", flags, GetLastError());
    }
}
