/*
 * EXEC and NETSTAT: run a command line through the guest's shell with its
 * output in temp files, kill it (and what it started) on timeout, and return
 * exit code, output and timing. See PROTOCOL.md "EXEC and NETSTAT".
 */
#include "agent.h"
#include <tlhelp32.h>

#define STREAM_CAP 32000UL
#define EXEC_TIMED_OUT 0x01
#define EXEC_STDOUT_TRUNCATED 0x02
#define EXEC_STDERR_TRUNCATED 0x04
#define NETSTAT_TIMEOUT_MS 60000UL
#define MAX_TREE 64

typedef HANDLE(WINAPI *snapshot_fn)(DWORD, DWORD);
typedef BOOL(WINAPI *process_walk_fn)(HANDLE, LPPROCESSENTRY32);

static int in_list(const DWORD *list, int n, DWORD pid)
{
    int i;
    for (i = 0; i < n; i++) {
        if (list[i] == pid) {
            return 1;
        }
    }
    return 0;
}

/*
 * Terminates the shell and every process descended from it. Toolhelp32 is
 * looked up at run time: NT4's kernel32 does not have it, and there only the
 * shell itself can be terminated.
 */
static void kill_tree(DWORD root_pid, HANDLE root)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    snapshot_fn snapshot = (snapshot_fn)(void (*)(void))GetProcAddress(k32, "CreateToolhelp32Snapshot");
    process_walk_fn first = (process_walk_fn)(void (*)(void))GetProcAddress(k32, "Process32First");
    process_walk_fn next = (process_walk_fn)(void (*)(void))GetProcAddress(k32, "Process32Next");
    DWORD tree[MAX_TREE];
    int n = 1, grew = 1, i;
    HANDLE snap, h;
    PROCESSENTRY32 pe;

    tree[0] = root_pid;
    /* Freeze the shell first so it starts nothing new while the tree is walked. */
    TerminateProcess(root, 1);
    if (snapshot == NULL || first == NULL || next == NULL) {
        return;
    }
    while (grew && n < MAX_TREE) {
        grew = 0;
        snap = snapshot(TH32CS_SNAPPROCESS, 0);
        if (snap == INVALID_HANDLE_VALUE) {
            break;
        }
        memset(&pe, 0, sizeof pe);
        pe.dwSize = sizeof pe;
        if (first(snap, &pe)) {
            do {
                if (n < MAX_TREE && in_list(tree, n, pe.th32ParentProcessID) && !in_list(tree, n, pe.th32ProcessID)) {
                    tree[n++] = pe.th32ProcessID;
                    grew = 1;
                }
                pe.dwSize = sizeof pe;
            } while (next(snap, &pe));
        }
        CloseHandle(snap);
    }
    for (i = 1; i < n; i++) {
        h = OpenProcess(PROCESS_TERMINATE, FALSE, tree[i]);
        if (h != NULL) {
            TerminateProcess(h, 1);
            CloseHandle(h);
        }
    }
}

/* Copies at most STREAM_CAP bytes of a file to dst; returns the count, sets *truncated. */
static unsigned long read_capture(const char *path, unsigned char *dst, int *truncated)
{
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    DWORD got = 0, size;
    *truncated = 0;
    if (h == INVALID_HANDLE_VALUE) {
        return 0;
    }
    size = GetFileSize(h, NULL);
    if (size != 0xFFFFFFFFUL && size > STREAM_CAP) {
        *truncated = 1;
    }
    if (!ReadFile(h, dst, STREAM_CAP, &got, NULL)) {
        got = 0;
    }
    CloseHandle(h);
    return got;
}

static HANDLE inheritable(const char *path, DWORD access, DWORD disposition)
{
    SECURITY_ATTRIBUTES sa;
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = NULL;
    sa.bInheritHandle = TRUE;
    return CreateFileA(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
}

/* Runs cmd and fills the exec result into the reply payload. */
static int run(const char *cmd, const char *cwd, unsigned long timeout_ms, unsigned long *len)
{
    static char line[MAX_COMMAND + MAX_PATH * 3 + 32];
    char shell[MAX_PATH], temp[MAX_PATH], out_path[MAX_PATH + 16], err_path[MAX_PATH + 16];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    HANDLE in = INVALID_HANDLE_VALUE, out = INVALID_HANDLE_VALUE, err = INVALID_HANDLE_VALUE;
    DWORD started, wait, code = 0, e, tmplen;
    unsigned char *p = reply_payload();
    unsigned long out_len, err_len;
    int nt = is_nt(), timed_out = 0, out_trunc = 0, err_trunc = 0, ok;

    tmplen = GetTempPathA(sizeof temp, temp);
    if (tmplen == 0 || tmplen >= sizeof temp) {
        rt_strlcpy(temp, "C:\\", sizeof temp);
    }
    rt_fmt(out_path, sizeof out_path, "%srla%lxo.tmp", temp, GetCurrentProcessId());
    rt_fmt(err_path, sizeof err_path, "%srla%lxe.tmp", temp, GetCurrentProcessId());
    tmplen = GetEnvironmentVariableA("COMSPEC", shell, sizeof shell);
    if (tmplen == 0 || tmplen >= sizeof shell) {
        rt_strlcpy(shell, nt ? "cmd.exe" : "command.com", sizeof shell);
    }

    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (nt) {
        /* cmd strips the first and the last quote of what follows /c; a command
           that starts with a quote gets an extra pair so it survives intact. */
        rt_fmt(line, sizeof line, cmd[0] == '"' ? "\"%s\" /c \"%s\"" : "\"%s\" /c %s", shell, cmd);
        in = inheritable("NUL", GENERIC_READ, OPEN_EXISTING);
        out = inheritable(out_path, GENERIC_WRITE, CREATE_ALWAYS);
        err = inheritable(err_path, GENERIC_WRITE, CREATE_ALWAYS);
        if (out == INVALID_HANDLE_VALUE || err == INVALID_HANDLE_VALUE) {
            e = GetLastError();
            if (in != INVALID_HANDLE_VALUE) CloseHandle(in);
            if (out != INVALID_HANDLE_VALUE) CloseHandle(out);
            if (err != INVALID_HANDLE_VALUE) CloseHandle(err);
            return reply_error(len, ERR_WIN32, e, "EXEC: cannot create the capture files in %s", temp);
        }
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = in;
        si.hStdOutput = out;
        si.hStdError = err;
    } else {
        /* Win9x: command.com redirects stdout itself; stderr is not captured. */
        rt_fmt(line, sizeof line, "%s /c %s > %s", shell, cmd, out_path);
        DeleteFileA(err_path);
    }

    ok = CreateProcessA(NULL, line, NULL, NULL, TRUE, 0, NULL, cwd[0] ? cwd : NULL, &si, &pi);
    e = GetLastError();
    if (in != INVALID_HANDLE_VALUE) CloseHandle(in);
    if (out != INVALID_HANDLE_VALUE) CloseHandle(out);
    if (err != INVALID_HANDLE_VALUE) CloseHandle(err);
    if (!ok) {
        DeleteFileA(out_path);
        DeleteFileA(err_path);
        return reply_error(len, ERR_WIN32, e, "EXEC: CreateProcess(%s) in %s failed", line, cwd[0] ? cwd : "(agent's directory)");
    }
    started = GetTickCount();
    wait = WaitForSingleObject(pi.hProcess, timeout_ms);
    if (wait != WAIT_OBJECT_0) {
        timed_out = 1;
        kill_tree(pi.dwProcessId, pi.hProcess);
        WaitForSingleObject(pi.hProcess, 5000);
    }
    if (!GetExitCodeProcess(pi.hProcess, &code)) {
        code = 0xFFFFFFFFUL;
    }
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);

    put_u32(p, code);
    put_u32(p + 5, GetTickCount() - started);
    out_len = read_capture(out_path, p + 13, &out_trunc);
    put_u32(p + 9, out_len);
    err_len = read_capture(err_path, p + 17 + out_len, &err_trunc);
    put_u32(p + 13 + out_len, err_len);
    p[4] = (unsigned char)((timed_out ? EXEC_TIMED_OUT : 0) | (out_trunc ? EXEC_STDOUT_TRUNCATED : 0) |
                           (err_trunc ? EXEC_STDERR_TRUNCATED : 0));
    DeleteFileA(out_path);
    DeleteFileA(err_path);
    *len = 17 + out_len + err_len;
    return REP_OK;
}

int do_exec(const unsigned char *p, unsigned long n, unsigned long *len)
{
    static char cmd[MAX_COMMAND + 1];
    char cwd[MAX_GUEST_PATH + 1];
    struct reader r;
    unsigned long timeout_ms;

    rd_init(&r, p, n);
    timeout_ms = rd_u32(&r);
    rd_str16(&r, cwd, MAX_GUEST_PATH);
    rd_str16(&r, cmd, MAX_COMMAND);
    if (r.bad || r.off != r.len || cmd[0] == 0) {
        return reply_error(len, ERR_BAD_REQUEST, 0,
                           "EXEC payload is malformed, or the command line is empty or over %d bytes, or the directory over %d",
                           MAX_COMMAND, MAX_GUEST_PATH);
    }
    return run(cmd, cwd, timeout_ms, len);
}

int do_netstat(unsigned long *len)
{
    return run("NETSTAT -an", "", NETSTAT_TIMEOUT_MS, len);
}
