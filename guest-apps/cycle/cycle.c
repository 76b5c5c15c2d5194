/* cycle: see cycle.h. Roles: the launcher (--apps) starts N parents; a parent
 * runs the cycles, starting one child per cycle; a child opens the copy it is
 * handed, uses it and closes it. Children and apps write their event lines to
 * an inherited pipe (--report) and their spawner relays them, so one stdout
 * carries every line in order. */
#include "cycle.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_SETUP 3

#define WA_NONE 0
#define WA_DUMMY 1
#define WA_LATE 2

#define CHILD_DATA "dup\r\n"
#define HOLD_POLL_MS 100
/* GetFileAttributesA's failure value (not every header defines INVALID_FILE_ATTRIBUTES). */
#define NO_FILE 0xFFFFFFFFUL
#define CHILD_DATA_LEN 5

struct options {
    int child;
    HANDLE ctl;
    HANDLE report;
    unsigned long cycles;
    unsigned long cycle;
    unsigned long app;
    unsigned long apps;
    int parallel;
    int workaround;
    int original_first;
    int leak_control;
    int holder;
    int as_holder;
    int final;
    unsigned long eof_ms;
    unsigned long hold_ms;
    const char *peer;
    const char *out_path;
    const char *hold_until;
};

struct line_reader {
    HANDLE h;
    char buf[1024];
    unsigned len;
    int eof;
};

struct spawned {
    PROCESS_INFORMATION pi;
    HANDLE ctl;
    struct line_reader rd;
};

static struct options opt;
static const struct dup_method *method;
static const char *role = "parent";
static HANDLE out;
static CRITICAL_SECTION out_lock;
static char exe_path[MAX_PATH];

static void write_line(const char *line, unsigned len)
{
    EnterCriticalSection(&out_lock);
    rt_write(out, line, len);
    LeaveCriticalSection(&out_lock);
}

void cycle_emit(const char *event, const char *fmt, ...)
{
    char line[RT_LINE_MAX];
    unsigned n;
    va_list ap;
    n = (unsigned)rt_fmt(line, sizeof line, "event=%s role=%s app=%lu", event, role, opt.app);
    if (*fmt) {
        line[n++] = ' ';
        va_start(ap, fmt);
        n += (unsigned)rt_vfmt(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
    }
    if (n > sizeof line - 2) {
        n = sizeof line - 2;
    }
    line[n++] = '\r';
    line[n++] = '\n';
    write_line(line, n);
}

static unsigned long since(DWORD t0)
{
    return (unsigned long)(GetTickCount() - t0);
}

static int read_line(struct line_reader *r, char *line, unsigned size)
{
    unsigned i, n;
    DWORD got;
    for (;;) {
        for (i = 0; i < r->len && r->buf[i] != '\n'; i++) {
        }
        if (i < r->len || r->len == sizeof r->buf || (r->eof && r->len)) {
            n = i < size - 1 ? i : size - 1;
            if (n && r->buf[n - 1] == '\r') {
                n--;
            }
            memcpy(line, r->buf, n);
            line[n] = 0;
            if (i < r->len) {
                i++;
            }
            r->len -= i;
            memmove(r->buf, r->buf + i, r->len);
            return 1;
        }
        if (r->eof) {
            return 0;
        }
        /* A broken pipe (NT) and a zero-byte read (9x) both mean the writer is gone. */
        if (!ReadFile(r->h, r->buf + r->len, sizeof r->buf - r->len, &got, 0) || got == 0) {
            r->eof = 1;
        } else {
            r->len += got;
        }
    }
}

static void relay(const char *line)
{
    char buf[RT_LINE_MAX];
    unsigned n = rt_strlcpy(buf, line, sizeof buf - 2);
    if (n > sizeof buf - 3) {
        n = sizeof buf - 3;
    }
    buf[n++] = '\r';
    buf[n++] = '\n';
    write_line(buf, n);
}

static int line_is(const char *line, const char *event)
{
    unsigned n = rt_strlen(event);
    return rt_strncmp(line, "event=", 6) == 0 && rt_strncmp(line + 6, event, n) == 0 && line[6 + n] == ' ';
}

static int line_ok(const char *line)
{
    const char *p;
    for (p = line; *p; p++) {
        if (rt_strncmp(p, " ok=1", 5) == 0 && (p[5] == ' ' || p[5] == 0)) {
            return 1;
        }
    }
    return 0;
}

/* Relays the spawned process's lines until one of the events shows up.
 * Returns the index of the event found (its line in *ok_out), or -1 at EOF. */
static int await_event(struct spawned *sp, const char *a, const char *b, int *ok_out)
{
    char line[RT_LINE_MAX];
    while (read_line(&sp->rd, line, sizeof line)) {
        relay(line);
        if (a && line_is(line, a)) {
            *ok_out = line_ok(line);
            return 0;
        }
        if (b && line_is(line, b)) {
            *ok_out = line_ok(line);
            return 1;
        }
    }
    return -1;
}

static void relay_rest(struct spawned *sp)
{
    int ok;
    await_event(sp, 0, 0, &ok);
}

static int pipe_write_all(HANDLE h, const void *buf, unsigned len)
{
    DWORD done;
    const char *p = (const char *)buf;
    while (len) {
        if (!WriteFile(h, p, len, &done, 0) || done == 0) {
            return 0;
        }
        p += done;
        len -= done;
    }
    return 1;
}

static int pipe_read_all(HANDLE h, void *buf, unsigned len)
{
    DWORD got;
    char *p = (char *)buf;
    while (len) {
        if (!ReadFile(h, p, len, &got, 0) || got == 0) {
            return 0;
        }
        p += got;
        len -= got;
    }
    return 1;
}

/* Replaces h by a copy the next child does not inherit (SetHandleInformation
 * does not exist on Windows 9x). */
static int uninheritable(HANDLE *h)
{
    HANDLE self = GetCurrentProcess();
    HANDLE copy;
    if (!DuplicateHandle(self, *h, self, &copy, 0, FALSE, DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE)) {
        return 0;
    }
    *h = copy;
    return 1;
}

/* Starts this program again with args, a report pipe and, with_ctl, a control
 * pipe. Returns 0 or a Win32 error code with *where naming the call. */
static DWORD spawn_self(const char *args, int with_ctl, struct spawned *sp, const char **where)
{
    SECURITY_ATTRIBUTES sa;
    STARTUPINFOA si;
    HANDLE rep_r = 0, rep_w = 0, ctl_r = 0, ctl_w = 0;
    char cmd[1024];
    char num[64];
    DWORD err = 0;
    BOOL started;

    memset(sp, 0, sizeof *sp);
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = 0;
    sa.bInheritHandle = TRUE;
    *where = "CreatePipe";
    if (!CreatePipe(&rep_r, &rep_w, &sa, 0)) {
        return GetLastError();
    }
    if (with_ctl && !CreatePipe(&ctl_r, &ctl_w, &sa, 0)) {
        err = GetLastError();
        CloseHandle(rep_r);
        CloseHandle(rep_w);
        return err;
    }
    *where = "DuplicateHandle";
    if (!uninheritable(&rep_r) || (with_ctl && !uninheritable(&ctl_w))) {
        err = GetLastError();
    }
    cmd[0] = 0;
    if (!err && (!rt_quote_arg(cmd, sizeof cmd, exe_path) || rt_strlcat(cmd, args, sizeof cmd) >= sizeof cmd)) {
        *where = "command-line";
        err = ERROR_INSUFFICIENT_BUFFER;
    }
    if (!err) {
        rt_fmt(num, sizeof num, " --report 0x%lx", (unsigned long)(size_t)rep_w);
        rt_strlcat(cmd, num, sizeof cmd);
        if (with_ctl) {
            rt_fmt(num, sizeof num, " --ctl 0x%lx", (unsigned long)(size_t)ctl_r);
            rt_strlcat(cmd, num, sizeof cmd);
        }
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        *where = "CreateProcessA";
        started = CreateProcessA(exe_path, cmd, 0, 0, TRUE, 0, 0, 0, &si, &sp->pi);
        if (!started) {
            err = GetLastError();
        }
    }
    /* The child's ends must be closed here or the pipes never report EOF. */
    CloseHandle(rep_w);
    if (with_ctl) {
        CloseHandle(ctl_r);
    }
    if (err) {
        CloseHandle(rep_r);
        if (with_ctl) {
            CloseHandle(ctl_w);
        }
        return err;
    }
    sp->rd.h = rep_r;
    sp->ctl = with_ctl ? ctl_w : 0;
    return 0;
}

/* Lets a child run to its end; returns its exit code (or 259 if unknown). */
static DWORD finish_spawned(struct spawned *sp)
{
    DWORD code = STILL_ACTIVE;
    if (sp->ctl) {
        CloseHandle(sp->ctl);
        sp->ctl = 0;
    }
    relay_rest(sp);
    WaitForSingleObject(sp->pi.hProcess, INFINITE);
    GetExitCodeProcess(sp->pi.hProcess, &code);
    CloseHandle(sp->rd.h);
    CloseHandle(sp->pi.hProcess);
    CloseHandle(sp->pi.hThread);
    return code;
}

static unsigned short swap16(unsigned short v)
{
    return (unsigned short)(((v & 0xFF) << 8) | (v >> 8));
}

static int parse_ipv4(const char *s, unsigned char ip[4])
{
    unsigned long part;
    char num[4];
    int i, n;
    if (rt_strcmp(s, "localhost") == 0) {
        s = "127.0.0.1";
    }
    for (i = 0; i < 4; i++) {
        for (n = 0; *s >= '0' && *s <= '9' && n < 3; n++) {
            num[n] = *s++;
        }
        num[n] = 0;
        if (!n || !rt_parse_ulong(num, &part) || part > 255) {
            return 0;
        }
        ip[i] = (unsigned char)part;
        if (i < 3 && *s++ != '.') {
            return 0;
        }
    }
    return *s == 0;
}

static int parse_peer(const char *s, struct sockaddr_in *sin)
{
    char host[64];
    const char *colon = 0;
    const char *p;
    unsigned long port;
    for (p = s; *p; p++) {
        if (*p == ':') {
            colon = p;
        }
    }
    if (!colon || (unsigned)(colon - s) >= sizeof host) {
        return 0;
    }
    memcpy(host, s, (unsigned)(colon - s));
    host[colon - s] = 0;
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    if (!parse_ipv4(host, (unsigned char *)&sin->sin_addr) || !rt_parse_ulong(colon + 1, &port) || port == 0 || port > 65535) {
        return 0;
    }
    sin->sin_port = swap16((unsigned short)port);
    return 1;
}

static unsigned local_port(SOCKET s)
{
    struct sockaddr_in sin;
    int len = sizeof sin;
    if (getsockname(s, (struct sockaddr *)&sin, &len) != 0) {
        return 0;
    }
    return swap16(sin.sin_port);
}

static void usage(const char *bad)
{
    cycle_emit("usage-error", "arg=%s", bad);
    rt_eprintf("usage: %s [--cycles N] [--peer a.b.c.d:port] [--workaround dummy-socket|late-close]\r\n"
               "       [--close-order duplicate-first|original-first] [--leak-control] [--hold-ms N] [--out FILE]\r\n"
               "       [--eof-ms N] [--apps N [--parallel]] [--holder] [--hold-until FILE]\r\n"
               "bad or missing argument: %s\r\n", method->prog, bad);
}

static int parse_options(int argc, char **argv)
{
    int i;
    const char *a;
    const char *v;
    unsigned long n;
    int eof_set = 0;
    opt.cycles = 20;
    opt.eof_ms = 1000;
    opt.final = 1;
    for (i = 1; i < argc; i++) {
        a = argv[i];
        v = i + 1 < argc ? argv[i + 1] : 0;
        if (rt_strcmp(a, "--child") == 0) {
            opt.child = 1;
            role = "child";
        } else if (rt_strcmp(a, "--parallel") == 0) {
            opt.parallel = 1;
        } else if (rt_strcmp(a, "--leak-control") == 0) {
            opt.leak_control = 1;
        } else if (rt_strcmp(a, "--holder") == 0) {
            opt.holder = 1;
        } else if (rt_strcmp(a, "--as-holder") == 0) {
            opt.as_holder = 1;
            role = "holder";
        } else if (rt_strcmp(a, "--no-final") == 0) {
            opt.final = 0;
        } else if (!v) {
            usage(a);
            return 0;
        } else if (rt_strcmp(a, "--peer") == 0) {
            opt.peer = v;
            i++;
        } else if (rt_strcmp(a, "--out") == 0) {
            opt.out_path = v;
            i++;
        } else if (rt_strcmp(a, "--hold-until") == 0) {
            opt.hold_until = v;
            i++;
        } else if (rt_strcmp(a, "--workaround") == 0) {
            if (rt_strcmp(v, "dummy-socket") == 0) {
                opt.workaround = WA_DUMMY;
            } else if (rt_strcmp(v, "late-close") == 0) {
                opt.workaround = WA_LATE;
            } else if (rt_strcmp(v, "none") != 0) {
                usage(v);
                return 0;
            }
            i++;
        } else if (rt_strcmp(a, "--close-order") == 0) {
            if (rt_strcmp(v, "original-first") == 0) {
                opt.original_first = 1;
            } else if (rt_strcmp(v, "duplicate-first") != 0) {
                usage(v);
                return 0;
            }
            i++;
        } else {
            if (!rt_parse_ulong(v, &n)) {
                usage(v);
                return 0;
            }
            if (rt_strcmp(a, "--cycles") == 0) {
                opt.cycles = n;
            } else if (rt_strcmp(a, "--cycle") == 0) {
                opt.cycle = n;
            } else if (rt_strcmp(a, "--app") == 0) {
                opt.app = n;
            } else if (rt_strcmp(a, "--apps") == 0) {
                opt.apps = n;
            } else if (rt_strcmp(a, "--eof-ms") == 0) {
                opt.eof_ms = n;
                eof_set = 1;
            } else if (rt_strcmp(a, "--hold-ms") == 0) {
                opt.hold_ms = n;
            } else if (rt_strcmp(a, "--ctl") == 0) {
                opt.ctl = (HANDLE)(size_t)n;
            } else if (rt_strcmp(a, "--report") == 0) {
                opt.report = (HANDLE)(size_t)n;
            } else {
                usage(a);
                return 0;
            }
            i++;
        }
    }
    /* A held duplicate never sends EOF: waiting for one would only cost time. */
    if ((opt.leak_control || opt.holder) && !eof_set) {
        opt.eof_ms = 0;
    }
    if (opt.workaround == WA_LATE && opt.original_first) {
        usage("--workaround late-close with --close-order original-first");
        return 0;
    }
    if ((opt.child || opt.as_holder) && !opt.ctl) {
        usage("--child or --as-holder without --ctl");
        return 0;
    }
    if (opt.holder && (opt.leak_control || opt.workaround != WA_NONE || opt.original_first || opt.apps)) {
        usage("--holder with another mode");
        return 0;
    }
    return 1;
}

static const char *mode_name(void)
{
    if (opt.leak_control) {
        return "leak-control";
    }
    if (opt.holder) {
        return "holder";
    }
    if (opt.workaround == WA_DUMMY) {
        return "dummy-socket";
    }
    if (opt.workaround == WA_LATE) {
        return "late-close";
    }
    return "plain";
}

static void close_and_emit(const char *event, SOCKET s, unsigned long cycle)
{
    int rc = closesocket(s);
    int err = rc ? WSAGetLastError() : 0;
    cycle_emit(event, "cycle=%lu ok=%d err=%d", cycle, rc == 0, err);
}

/* ---- child ---- */

static int child_main(void)
{
    WSADATA wsa;
    char payload[CYCLE_PAYLOAD_MAX];
    DWORD len = 0;
    SOCKET s, dummy = INVALID_SOCKET;
    int err = 0, rc, failed = 0;
    char go;
    unsigned long c = opt.cycle;

    rc = WSAStartup(method->winsock_version, &wsa);
    if (rc) {
        cycle_emit("child-open", "cycle=%lu ok=0 err=%d call=WSAStartup", c, rc);
        return EXIT_FAILED;
    }
    if (!pipe_read_all(opt.ctl, &len, sizeof len) || len > sizeof payload || !pipe_read_all(opt.ctl, payload, len)) {
        cycle_emit("child-open", "cycle=%lu ok=0 err=%lu call=ReadFile", c, (unsigned long)GetLastError());
        return EXIT_FAILED;
    }
    s = method->take(payload, len, &err);
    cycle_emit("child-open", "cycle=%lu ok=%d err=%d call=%s", c, s != INVALID_SOCKET, s == INVALID_SOCKET ? err : 0, method->take_call);
    if (s == INVALID_SOCKET) {
        return EXIT_FAILED;
    }
    if (opt.workaround == WA_DUMMY) {
        dummy = socket(AF_INET, SOCK_STREAM, 0);
        cycle_emit("dummy-socket", "cycle=%lu ok=%d err=%d", c, dummy != INVALID_SOCKET, dummy == INVALID_SOCKET ? WSAGetLastError() : 0);
        failed |= dummy == INVALID_SOCKET;
    }
    /* The parent says when to go on, so it can close its original first. */
    if (!pipe_read_all(opt.ctl, &go, 1)) {
        cycle_emit("child-send", "cycle=%lu ok=0 err=%lu call=ReadFile bytes=0", c, (unsigned long)GetLastError());
        return EXIT_FAILED;
    }
    rc = send(s, CHILD_DATA, CHILD_DATA_LEN, 0);
    cycle_emit("child-send", "cycle=%lu ok=%d err=%d bytes=%d", c, rc == CHILD_DATA_LEN, rc == SOCKET_ERROR ? WSAGetLastError() : 0, rc == SOCKET_ERROR ? 0 : rc);
    failed |= rc != CHILD_DATA_LEN;
    if (opt.leak_control) {
        cycle_emit("child-hold", "cycle=%lu", c);
    } else {
        rc = closesocket(s);
        cycle_emit("child-close", "cycle=%lu ok=%d err=%d", c, rc == 0, rc ? WSAGetLastError() : 0);
        failed |= rc != 0;
    }
    /* Stay alive until the parent lets go: plain mode closes the original
     * while the child still runs, late-close only after it exited. */
    while (pipe_read_all(opt.ctl, &go, 1)) {
    }
    if (dummy != INVALID_SOCKET) {
        rc = closesocket(dummy);
        cycle_emit("dummy-close", "cycle=%lu ok=%d err=%d", c, rc == 0, rc ? WSAGetLastError() : 0);
        failed |= rc != 0;
    }
    return failed ? EXIT_FAILED : EXIT_OK;
}

/* ---- holder ---- */

/* Opens every copy the parent hands over (a cycle number, then a frame as
 * for a child) and keeps them all. The parent exits without waiting for it,
 * so the connections outlive the program that made them, which is what a
 * leaking stack does with the real cycle; the host measures then and ends
 * the holder through --hold-until. Its lines after the parent's exit go
 * nowhere, which is fine: the host counts the sockets in the table. */
static void hold_for_a_while(unsigned long held);

static int holder_main(void)
{
    WSADATA wsa;
    char payload[CYCLE_PAYLOAD_MAX];
    DWORD len = 0, c = 0;
    SOCKET s;
    int err, rc;
    unsigned long held = 0;

    rc = WSAStartup(method->winsock_version, &wsa);
    if (rc) {
        cycle_emit("holder-open", "cycle=0 ok=0 err=%d call=WSAStartup", rc);
        return EXIT_FAILED;
    }
    /* EOF on the control pipe: the parent is done (or gone). */
    while (pipe_read_all(opt.ctl, &c, sizeof c)) {
        if (!pipe_read_all(opt.ctl, &len, sizeof len) || len > sizeof payload || !pipe_read_all(opt.ctl, payload, len)) {
            cycle_emit("holder-open", "cycle=%lu ok=0 err=%lu call=ReadFile", (unsigned long)c, (unsigned long)GetLastError());
            return EXIT_FAILED;
        }
        err = 0;
        s = method->take(payload, len, &err);
        cycle_emit("holder-open", "cycle=%lu ok=%d err=%d call=%s", (unsigned long)c, s != INVALID_SOCKET,
             s == INVALID_SOCKET ? err : 0, method->take_call);
        if (s != INVALID_SOCKET) {
            held++;
        }
    }
    hold_for_a_while(held);
    return EXIT_OK;
}

/* ---- parent ---- */

/* The holder process of --holder, started before the first cycle. */
static struct spawned holder;

struct held {
    SOCKET *sockets;
    unsigned long count;
};

static void hold(struct held *h, SOCKET s)
{
    h->sockets[h->count++] = s;
}

static void check_peer_eof(SOCKET a, unsigned long c)
{
    char buf[256];
    DWORD t0 = GetTickCount();
    unsigned long left, bytes = 0;
    int ok = 0, err = 0, n;
    fd_set rfds;
    struct timeval tv;
    for (;;) {
        left = since(t0) >= opt.eof_ms ? 0 : opt.eof_ms - since(t0);
        FD_ZERO(&rfds);
        FD_SET(a, &rfds);
        tv.tv_sec = (long)(left / 1000);
        tv.tv_usec = (long)(left % 1000) * 1000;
        n = select(0, &rfds, 0, 0, &tv);
        if (n == SOCKET_ERROR) {
            err = WSAGetLastError();
            break;
        }
        if (n == 0) {
            break;
        }
        n = recv(a, buf, sizeof buf, 0);
        if (n == 0) {
            ok = 1;
            break;
        }
        if (n == SOCKET_ERROR) {
            err = WSAGetLastError();
            break;
        }
        bytes += (unsigned long)n;
    }
    cycle_emit("peer-eof", "cycle=%lu ok=%d err=%d bytes=%lu ms=%lu", c, ok, err, bytes, since(t0));
}

/* Connects a new socket to target; on success *s is set. Emits socket/connect
 * (or final-connect) and accepts the listener's side into *accepted. */
static int connect_once(const char *event, unsigned long c, const struct sockaddr_in *target, SOCKET listener,
                        SOCKET *s, SOCKET *accepted)
{
    DWORD t0 = GetTickCount();
    int err;
    struct sockaddr_in from;
    int fromlen = sizeof from;
    *accepted = INVALID_SOCKET;
    *s = method->make_socket ? method->make_socket() : socket(AF_INET, SOCK_STREAM, 0);
    if (*s == INVALID_SOCKET) {
        cycle_emit(event, "cycle=%lu ok=0 err=%d call=%s ms=%lu local_port=0", c, WSAGetLastError(),
             method->make_socket ? method->make_call : "socket", since(t0));
        return 0;
    }
    if (connect(*s, (const struct sockaddr *)target, sizeof *target) != 0) {
        err = WSAGetLastError();
        cycle_emit(event, "cycle=%lu ok=0 err=%d call=connect ms=%lu local_port=0", c, err, since(t0));
        closesocket(*s);
        *s = INVALID_SOCKET;
        return 0;
    }
    cycle_emit(event, "cycle=%lu ok=1 err=0 call=connect ms=%lu local_port=%u", c, since(t0), local_port(*s));
    if (listener != INVALID_SOCKET) {
        *accepted = accept(listener, (struct sockaddr *)&from, &fromlen);
        cycle_emit("accept", "cycle=%lu ok=%d err=%d", c, *accepted != INVALID_SOCKET, *accepted == INVALID_SOCKET ? WSAGetLastError() : 0);
    }
    return 1;
}

/* One KB cycle. Returns 1 if every step worked; *stop is set when no socket
 * could be connected (the symptom: later cycles cannot work either). */
static int run_holder_cycle(unsigned long c, const struct sockaddr_in *target, SOCKET listener, int *stop);

static int run_cycle(unsigned long c, const struct sockaddr_in *target, SOCKET listener, struct held *held, int *stop)
{
    struct spawned sp;
    char args[160];
    char payload[CYCLE_PAYLOAD_MAX];
    unsigned len = 0;
    DWORD t0 = GetTickCount(), err, code;
    const char *where;
    SOCKET s = INVALID_SOCKET, accepted;
    int ok = 1, child_ok = 0, found, rc;
    char go = 'g';
    DWORD frame;

    rt_fmt(args, sizeof args, " --child --app %lu --cycle %lu --workaround %s%s", opt.app, c,
           opt.workaround == WA_DUMMY ? "dummy-socket" : "none", opt.leak_control ? " --leak-control" : "");
    /* The child starts before the socket exists so it cannot inherit it. */
    err = spawn_self(args, 1, &sp, &where);
    cycle_emit("child-start", "cycle=%lu ok=%d err=%lu call=%s pid=%lu ms=%lu", c, err == 0, (unsigned long)err, where,
         err ? 0UL : (unsigned long)sp.pi.dwProcessId, since(t0));
    if (err) {
        cycle_emit("cycle", "cycle=%lu ok=0 ms=%lu", c, since(t0));
        return 0;
    }
    if (!connect_once("connect", c, target, listener, &s, &accepted)) {
        *stop = 1;
        code = finish_spawned(&sp);
        cycle_emit("child-exit", "cycle=%lu ok=%d code=%lu", c, code == EXIT_OK, (unsigned long)code);
        cycle_emit("cycle", "cycle=%lu ok=0 ms=%lu", c, since(t0));
        return 0;
    }
    rc = method->give(s, sp.pi.dwProcessId, sp.pi.hProcess, payload, &len);
    cycle_emit("duplicate", "cycle=%lu ok=%d err=%d call=%s", c, rc == 0, rc, method->give_call);
    if (rc == 0) {
        frame = len;
        if (!pipe_write_all(sp.ctl, &frame, sizeof frame) || !pipe_write_all(sp.ctl, payload, len)) {
            cycle_emit("handoff", "cycle=%lu ok=0 err=%lu", c, (unsigned long)GetLastError());
            ok = 0;
        } else {
            found = await_event(&sp, "child-open", 0, &child_ok);
            ok = found == 0 && child_ok;
        }
    } else {
        ok = 0;
    }
    if (ok && opt.original_first && !opt.leak_control) {
        close_and_emit("parent-close", s, c);
        s = INVALID_SOCKET;
    }
    if (ok) {
        if (!pipe_write_all(sp.ctl, &go, 1)) {
            cycle_emit("handoff", "cycle=%lu ok=0 err=%lu", c, (unsigned long)GetLastError());
            ok = 0;
        } else {
            found = await_event(&sp, "child-close", "child-hold", &child_ok);
            ok = found >= 0 && (found == 1 || child_ok);
        }
    }
    if (s != INVALID_SOCKET && !opt.leak_control && opt.workaround != WA_LATE) {
        close_and_emit("parent-close", s, c);
        s = INVALID_SOCKET;
    }
    code = finish_spawned(&sp);
    cycle_emit("child-exit", "cycle=%lu ok=%d code=%lu", c, code == EXIT_OK, (unsigned long)code);
    ok = ok && code == EXIT_OK;
    if (s != INVALID_SOCKET && opt.leak_control) {
        cycle_emit("parent-hold", "cycle=%lu", c);
        hold(held, s);
    } else if (s != INVALID_SOCKET) {
        close_and_emit("parent-close", s, c);
    }
    if (accepted != INVALID_SOCKET) {
        check_peer_eof(accepted, c);
        if (opt.leak_control) {
            hold(held, accepted);
        } else {
            close_and_emit("peer-close", accepted, c);
        }
    }
    cycle_emit("cycle", "cycle=%lu ok=%d ms=%lu", c, ok, since(t0));
    return ok;
}

/* One cycle of --holder: connect, duplicate for the holder, wait until it
 * opened its copy, close the original. The connection stays open through the
 * holder's copy. */
static int run_holder_cycle(unsigned long c, const struct sockaddr_in *target, SOCKET listener, int *stop)
{
    char payload[CYCLE_PAYLOAD_MAX];
    unsigned len = 0;
    DWORD t0 = GetTickCount(), frame = 0, cycle = (DWORD)c;
    SOCKET s, accepted;
    int ok, opened = 0, rc;

    if (!connect_once("connect", c, target, listener, &s, &accepted)) {
        *stop = 1;
        cycle_emit("cycle", "cycle=%lu ok=0 ms=%lu", c, since(t0));
        return 0;
    }
    rc = method->give(s, holder.pi.dwProcessId, holder.pi.hProcess, payload, &len);
    cycle_emit("duplicate", "cycle=%lu ok=%d err=%d call=%s", c, rc == 0, rc, method->give_call);
    ok = rc == 0;
    if (ok) {
        frame = len;
        if (!pipe_write_all(holder.ctl, &cycle, sizeof cycle) || !pipe_write_all(holder.ctl, &frame, sizeof frame) ||
            !pipe_write_all(holder.ctl, payload, len)) {
            cycle_emit("handoff", "cycle=%lu ok=0 err=%lu", c, (unsigned long)GetLastError());
            ok = 0;
        } else {
            ok = await_event(&holder, "holder-open", 0, &opened) == 0 && opened;
        }
    }
    close_and_emit("parent-close", s, c);
    if (accepted != INVALID_SOCKET) {
        close_and_emit("peer-close", accepted, c);
    }
    cycle_emit("cycle", "cycle=%lu ok=%d ms=%lu", c, ok, since(t0));
    return ok;
}

/* Starts the holder; 1 when it runs. */
static int start_holder(void)
{
    char args[MAX_PATH + 80];
    const char *where;
    DWORD err;
    rt_fmt(args, sizeof args, " --as-holder --hold-ms %lu", opt.hold_ms);
    if (opt.hold_until) {
        rt_strlcat(args, " --hold-until ", sizeof args);
        rt_quote_arg(args, sizeof args, opt.hold_until);
    }
    err = spawn_self(args, 1, &holder, &where);
    cycle_emit("holder-start", "ok=%d err=%lu call=%s pid=%lu", err == 0, (unsigned long)err, where,
         err ? 0UL : (unsigned long)holder.pi.dwProcessId);
    return err == 0;
}

/* Lets the holder go on alone: closing the control pipe tells it no more
 * copies come; the parent neither waits for it nor reads its lines again. */
static void leave_holder(void)
{
    CloseHandle(holder.ctl);
    CloseHandle(holder.rd.h);
    CloseHandle(holder.pi.hProcess);
    CloseHandle(holder.pi.hThread);
}

static SOCKET open_listener(struct sockaddr_in *target)
{
    SOCKET l = socket(AF_INET, SOCK_STREAM, 0);
    int len = sizeof *target;
    int err = 0;
    memset(target, 0, sizeof *target);
    target->sin_family = AF_INET;
    ((unsigned char *)&target->sin_addr)[0] = 127;
    ((unsigned char *)&target->sin_addr)[3] = 1;
    if (l == INVALID_SOCKET) {
        cycle_emit("listen", "ok=0 err=%d call=socket port=0", WSAGetLastError());
        return l;
    }
    if (bind(l, (struct sockaddr *)target, sizeof *target) != 0 || listen(l, 5) != 0 ||
        getsockname(l, (struct sockaddr *)target, &len) != 0) {
        err = WSAGetLastError();
        cycle_emit("listen", "ok=0 err=%d call=bind/listen port=0", err);
        closesocket(l);
        return INVALID_SOCKET;
    }
    cycle_emit("listen", "ok=1 err=0 port=%u", swap16(target->sin_port));
    return l;
}

static int final_connect(const struct sockaddr_in *target, SOCKET listener)
{
    SOCKET s, accepted;
    int ok;
    if (!opt.final) {
        return 1;
    }
    ok = connect_once("final-connect", 0, target, listener, &s, &accepted);
    if (ok) {
        closesocket(s);
    }
    if (accepted != INVALID_SOCKET) {
        closesocket(accepted);
    }
    return ok;
}

/* Keeps the process (and what it holds) alive for at most --hold-ms, so the
 * host can look at the table. With --hold-until the host ends the hold early
 * by creating that file once it has looked; the file is deleted again, which
 * tells the host the program saw it. */
static void hold_for_a_while(unsigned long held)
{
    DWORD t0 = GetTickCount();
    int released = 0;
    if (!opt.hold_ms) {
        return;
    }
    cycle_emit("hold", "ms=%lu held=%lu", opt.hold_ms, held);
    if (!opt.hold_until) {
        Sleep(opt.hold_ms);
        return;
    }
    while (since(t0) < opt.hold_ms) {
        if ((unsigned long)GetFileAttributesA(opt.hold_until) != NO_FILE) {
            released = 1;
            DeleteFileA(opt.hold_until);
            break;
        }
        Sleep(HOLD_POLL_MS);
    }
    cycle_emit("hold-end", "released=%d ms=%lu", released, since(t0));
}

static int setup_network(struct sockaddr_in *target, SOCKET *listener)
{
    WSADATA wsa;
    int rc = WSAStartup(method->winsock_version, &wsa);
    cycle_emit("wsastartup", "ok=%d err=%d version=%u.%u", rc == 0, rc, rc ? 0 : LOBYTE(wsa.wVersion), rc ? 0 : HIBYTE(wsa.wVersion));
    if (rc) {
        return 0;
    }
    if (method->prepare && !method->prepare()) {
        return 0;
    }
    *listener = INVALID_SOCKET;
    if (opt.peer) {
        return parse_peer(opt.peer, target);
    }
    *listener = open_listener(target);
    return *listener != INVALID_SOCKET;
}

static int parent_main(void)
{
    struct sockaddr_in target;
    SOCKET listener;
    struct held held;
    unsigned long c, cycles_ok = 0, run = 0;
    int stop = 0, final_ok;
    DWORD t0 = GetTickCount();

    /* The holder starts before any socket exists, so it inherits none. */
    if (opt.holder && !start_holder()) {
        return EXIT_SETUP;
    }
    if (!setup_network(&target, &listener)) {
        return EXIT_SETUP;
    }
    held.count = 0;
    held.sockets = (SOCKET *)rt_alloc((unsigned)(opt.cycles * 2 * sizeof(SOCKET)));
    if (!held.sockets) {
        cycle_emit("error", "call=HeapAlloc err=%lu", (unsigned long)GetLastError());
        return EXIT_SETUP;
    }
    for (c = 1; c <= opt.cycles && !stop; c++) {
        run++;
        if (opt.holder) {
            cycles_ok += (unsigned long)run_holder_cycle(c, &target, listener, &stop);
        } else {
            cycles_ok += (unsigned long)run_cycle(c, &target, listener, &held, &stop);
        }
    }
    final_ok = final_connect(&target, listener);
    if (opt.holder) {
        /* The holder holds; this process exits now, which is the point. */
        held.count = cycles_ok;
        leave_holder();
    } else {
        hold_for_a_while(held.count);
    }
    cycle_emit("summary", "ok=%d cycles=%lu cycles_run=%lu cycles_ok=%lu final_ok=%d held=%lu ms=%lu",
         cycles_ok == opt.cycles && final_ok, opt.cycles, run, cycles_ok, final_ok, held.count, since(t0));
    return cycles_ok == opt.cycles && final_ok ? EXIT_OK : EXIT_FAILED;
}

/* ---- launcher ---- */

static DWORD WINAPI relay_thread(LPVOID param)
{
    relay_rest((struct spawned *)param);
    return 0;
}

static void app_args(char *buf, unsigned size, unsigned long k)
{
    rt_fmt(buf, size, " --no-final --app %lu --cycles %lu --eof-ms %lu --workaround %s --close-order %s%s", k, opt.cycles,
           opt.eof_ms, opt.workaround == WA_DUMMY ? "dummy-socket" : opt.workaround == WA_LATE ? "late-close" : "none",
           opt.original_first ? "original-first" : "duplicate-first", opt.leak_control ? " --leak-control" : "");
    if (opt.peer) {
        rt_strlcat(buf, " --peer ", size);
        rt_quote_arg(buf, size, opt.peer);
    }
}

static int launcher_main(void)
{
    struct sockaddr_in target;
    SOCKET listener;
    struct spawned *apps;
    HANDLE *threads;
    char args[400];
    const char *where;
    unsigned long k, apps_ok = 0;
    DWORD err, code, tid;
    int final_ok;
    DWORD t0 = GetTickCount();

    if (!setup_network(&target, &listener)) {
        return EXIT_SETUP;
    }
    apps = (struct spawned *)rt_alloc((unsigned)(opt.apps * sizeof *apps));
    threads = (HANDLE *)rt_alloc((unsigned)(opt.apps * sizeof *threads));
    if (!apps || !threads) {
        cycle_emit("error", "call=HeapAlloc err=%lu", (unsigned long)GetLastError());
        return EXIT_SETUP;
    }
    for (k = 1; k <= opt.apps; k++) {
        app_args(args, sizeof args, k);
        err = spawn_self(args, 0, &apps[k - 1], &where);
        cycle_emit("app-start", "target_app=%lu ok=%d err=%lu call=%s pid=%lu", k, err == 0, (unsigned long)err, where,
             err ? 0UL : (unsigned long)apps[k - 1].pi.dwProcessId);
        if (err) {
            apps[k - 1].pi.hProcess = 0;
            continue;
        }
        if (opt.parallel) {
            threads[k - 1] = CreateThread(0, 0, relay_thread, &apps[k - 1], 0, &tid);
            if (!threads[k - 1]) {
                cycle_emit("error", "call=CreateThread err=%lu", (unsigned long)GetLastError());
                relay_rest(&apps[k - 1]);
            }
        } else {
            code = finish_spawned(&apps[k - 1]);
            cycle_emit("app-exit", "target_app=%lu ok=%d code=%lu", k, code == EXIT_OK, (unsigned long)code);
            apps_ok += code == EXIT_OK;
        }
    }
    if (opt.parallel) {
        for (k = 1; k <= opt.apps; k++) {
            if (!apps[k - 1].pi.hProcess) {
                continue;
            }
            if (threads[k - 1]) {
                WaitForSingleObject(threads[k - 1], INFINITE);
                CloseHandle(threads[k - 1]);
            }
            code = finish_spawned(&apps[k - 1]);
            cycle_emit("app-exit", "target_app=%lu ok=%d code=%lu", k, code == EXIT_OK, (unsigned long)code);
            apps_ok += code == EXIT_OK;
        }
    }
    final_ok = final_connect(&target, listener);
    hold_for_a_while(0);
    cycle_emit("summary", "ok=%d apps=%lu apps_ok=%lu final_ok=%d ms=%lu", apps_ok == opt.apps && final_ok, opt.apps, apps_ok,
         final_ok, since(t0));
    return apps_ok == opt.apps && final_ok ? EXIT_OK : EXIT_FAILED;
}

int cycle_main(int argc, char **argv, const struct dup_method *m)
{
    method = m;
    InitializeCriticalSection(&out_lock);
    out = GetStdHandle(STD_OUTPUT_HANDLE);
    if (!parse_options(argc, argv)) {
        return EXIT_USAGE;
    }
    if (opt.report) {
        out = opt.report;
    } else if (opt.out_path) {
        /* Events go to a file the host can read while the program still runs
           (it is started in the background when its sockets are counted live). */
        out = CreateFileA(opt.out_path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, 0, CREATE_ALWAYS,
                          FILE_ATTRIBUTE_NORMAL, 0);
        if (out == INVALID_HANDLE_VALUE) {
            out = GetStdHandle(STD_OUTPUT_HANDLE);
            cycle_emit("error", "call=CreateFileA err=%lu", (unsigned long)GetLastError());
            return EXIT_SETUP;
        }
    }
    if (!GetModuleFileNameA(0, exe_path, sizeof exe_path)) {
        cycle_emit("error", "call=GetModuleFileNameA err=%lu", (unsigned long)GetLastError());
        return EXIT_SETUP;
    }
    if (opt.child) {
        return child_main();
    }
    if (opt.as_holder) {
        return holder_main();
    }
    if (opt.apps) {
        role = "launcher";
    }
    cycle_emit("start", "prog=%s pid=%lu mode=%s close_order=%s cycles=%lu peer=%s apps=%lu parallel=%d eof_ms=%lu hold_ms=%lu",
         method->prog, (unsigned long)GetCurrentProcessId(), mode_name(),
         opt.original_first ? "original-first" : "duplicate-first", opt.cycles, opt.peer ? opt.peer : "self", opt.apps,
         opt.parallel, opt.eof_ms, opt.hold_ms);
    return opt.apps ? launcher_main() : parent_main();
}
