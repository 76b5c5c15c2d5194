/*
 * retrolab agent: main loop. Receives frames as PROTOCOL.md "Receiving"
 * says, answers each request once and keeps the last reply for a retry of
 * the same request (same seq and frame CRC), which it answers again without
 * executing. Nothing a peer sends can end this loop.
 */
#include "agent.h"

int g_verbose;

static struct rx_buf rx;

/* The reply being built, which is also the cached reply of the last request. */
static unsigned char reply[MAX_FRAME];
static unsigned long reply_len;
static int cache_valid;
static unsigned long cache_seq, cache_crc;

/* Replies that must not replace the cache (NAK, rejected frames). */
static unsigned char side[HEADER_SIZE + 256 + TRAILER_SIZE];

static const unsigned char magic[4] = { 'R', 'L', 'A', 'G' };

unsigned char *reply_payload(void)
{
    return reply + HEADER_SIZE;
}

/* Header and trailer around a payload already in place at frame + HEADER_SIZE. */
static unsigned long seal(unsigned char *frame, unsigned type, unsigned long seq, unsigned long len)
{
    memcpy(frame, magic, 4);
    frame[4] = PROTOCOL_VERSION;
    frame[5] = (unsigned char)type;
    put_u16(frame + 6, 0);
    put_u32(frame + 8, seq);
    put_u32(frame + 12, len);
    put_u32(frame + 16, crc32_update(0, frame, 16));
    put_u32(frame + HEADER_SIZE + len, crc32_update(0, frame, HEADER_SIZE + len));
    return HEADER_SIZE + len + TRAILER_SIZE;
}

static unsigned long error_payload(unsigned char *p, unsigned long cap, unsigned kind, unsigned long win32, const char *fmt,
                                   va_list ap)
{
    put_u16(p, kind);
    put_u32(p + 2, win32);
    return 6 + (unsigned long)rt_vfmt((char *)p + 6, (unsigned)(cap - 6), fmt, ap);
}

int reply_error(unsigned long *len, unsigned kind, unsigned long win32, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *len = error_payload(reply_payload(), 1024, kind, win32, fmt, ap);
    va_end(ap);
    if (g_verbose) {
        rt_eprintf("agent: error: %s\r\n", (const char *)reply_payload() + 6);
    }
    return REP_ERROR;
}

static void send_side(unsigned type, unsigned long seq, unsigned kind, const char *fmt, ...)
{
    va_list ap;
    unsigned long len;
    va_start(ap, fmt);
    len = error_payload(side + HEADER_SIZE, 256, kind, 0, fmt, ap);
    va_end(ap);
    serial_write(side, seal(side, type, seq, len));
}

int is_wine(void)
{
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

int is_nt(void)
{
    return (GetVersion() & 0x80000000UL) == 0;
}

static unsigned long banner(void)
{
    unsigned char *p = reply_payload();
    put_u16(p, PROTOCOL_VERSION);
    put_u16(p + 2, 0);
    put_u32(p + 4, MAX_PAYLOAD);
    return 8 + rt_strlcpy((char *)p + 8, AGENT_VERSION_TEXT, 64);
}

static void handle(unsigned type, unsigned long seq, unsigned long fcrc, const unsigned char *p, unsigned long n)
{
    unsigned long len = 0;
    int rtype;
    int shutdown_mode = -1;

    if (cache_valid && seq == cache_seq && fcrc == cache_crc) {
        if (g_verbose) {
            rt_eprintf("agent: seq %lu repeated: replaying the cached reply\r\n", seq);
        }
        serial_write(reply, reply_len);
        return;
    }
    if (g_verbose) {
        rt_eprintf("agent: request 0x%02x seq %lu, %lu bytes\r\n", type, seq, n);
    }
    switch (type) {
    case REQ_HELLO:
        len = banner();
        rtype = REP_BANNER;
        break;
    case REQ_PING:
        /* p points into rx, never into the reply buffer: the copy cannot overlap */
        memcpy(reply_payload(), p, n);
        len = n;
        rtype = REP_OK;
        break;
    case REQ_PUT:
        rtype = do_put(p, n, &len);
        break;
    case REQ_GET:
        rtype = do_get(p, n, &len);
        break;
    case REQ_DELETE:
        rtype = do_delete(p, n, &len);
        break;
    case REQ_EXEC:
        rtype = do_exec(p, n, &len);
        break;
    case REQ_NETSTAT:
        rtype = do_netstat(&len);
        break;
    case REQ_SYSINFO:
        rtype = do_sysinfo(&len);
        break;
    case REQ_SHUTDOWN:
        rtype = do_shutdown_check(p, n, &len, &shutdown_mode);
        break;
    default:
        rtype = reply_error(&len, ERR_UNKNOWN_TYPE, 0, "unknown request type 0x%02x (this agent knows 0x01..0x09)", type);
        break;
    }
    reply_len = seal(reply, (unsigned)rtype, seq, len);
    cache_valid = 1;
    cache_seq = seq;
    cache_crc = fcrc;
    serial_write(reply, reply_len);
    if (rtype == REP_OK && shutdown_mode >= 0) {
        serial_flush();
        shutdown_now(shutdown_mode);
    }
}

/* Handles every complete frame in rx; rejected and corrupt requests are answered on the side. */
static void drain(void)
{
    struct rx_frame f;

    for (;;) {
        switch (rx_next(&rx, &f)) {
        case RX_MORE:
            return;
        case RX_BAD_VERSION:
            send_side(REP_ERROR, f.seq, ERR_BAD_VERSION, "frame protocol version %u is not supported; this agent speaks %u",
                      f.version, PROTOCOL_VERSION);
            break;
        case RX_TOO_LARGE:
            send_side(REP_ERROR, f.seq, ERR_FRAME_TOO_LARGE, "frame payload of %lu bytes exceeds the limit of %lu bytes", f.len,
                      MAX_PAYLOAD);
            break;
        case RX_BAD_CRC:
            if (g_verbose) {
                rt_eprintf("agent: seq %lu: bad frame CRC, NAK\r\n", f.seq);
            }
            send_side(REP_NAK, f.seq, ERR_BAD_CRC, "frame CRC mismatch on seq %lu (%lu payload bytes): retransmit", f.seq, f.len);
            break;
        default:
            handle(f.type, f.seq, f.fcrc, f.payload, f.len);
            break;
        }
    }
}

/*
 * Bytes the frame at the start of rx still lacks: after rx_next said RX_MORE,
 * rx starts at a magic; once its header is in and sound, its length is known.
 * 0 when no sound header is there yet.
 */
static unsigned long frame_lacks(const struct rx_buf *b)
{
    unsigned long avail = b->end - b->start, total;
    const unsigned char *f = b->data + b->start;

    if (avail < HEADER_SIZE || memcmp(f, "RLAG", 4) != 0 || crc32_update(0, f, 16) != get_u32(f + 16)) {
        return 0;
    }
    if (get_u32(f + 12) > MAX_PAYLOAD) {
        return 0;
    }
    total = HEADER_SIZE + get_u32(f + 12) + TRAILER_SIZE;
    return total > avail ? total - avail : 0;
}

static void usage(void)
{
    rt_err("usage: agent [--port COM1|\\\\.\\COMn|path] [--verbose]\r\n");
}

int rt_main(int argc, char **argv)
{
    const char *port = "COM1";
    unsigned long got, len, cap;
    unsigned char *buf;
    int i, failures = 0;

    for (i = 1; i < argc; i++) {
        if (rt_strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = argv[++i];
        } else if (rt_strcmp(argv[i], "--verbose") == 0) {
            g_verbose = 1;
        } else {
            usage();
            return 2;
        }
    }
    /* No "insert a disk" or "DLL not found" dialog may block an unattended guest. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX);
    crc32_init();
    for (i = 0; !serial_open(port); i++) {
        if (i == 30) {
            return 1;
        }
        Sleep(1000);
    }
    rt_eprintf("agent: %s serving protocol %u on %s\r\n", AGENT_VERSION_TEXT, PROTOCOL_VERSION, port);
    len = banner();
    serial_write(reply, seal(reply, REP_BANNER, 0, len));

    for (;;) {
        buf = rx_space(&rx, &cap);
        got = serial_read(buf, cap, frame_lacks(&rx));
        if (got == 0) {
            /* a line error or a hang-up: back off and keep listening */
            if (++failures % 100 == 1) {
                rt_eprintf("agent: serial read failed: Win32 error %lu\r\n", GetLastError());
            }
            Sleep(failures > 10 ? 1000 : 10);
            continue;
        }
        failures = 0;
        rx_commit(&rx, got);
        drain();
    }
}
