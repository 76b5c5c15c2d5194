/*
 * The serial port. Reads block for one byte, then take whatever else the
 * driver already holds (ClearCommError's cbInQue): under Wine 8, COMMTIMEOUTS
 * of MAXDWORD/MAXDWORD/constant did not return early, so the "return what is
 * there" timeouts cannot be relied on. A port that is not a comm device (a
 * pipe, a file given with --port) is read in plain blocks.
 */
#include "agent.h"

static HANDLE port = INVALID_HANDLE_VALUE;
static int is_comm;

int serial_open(const char *name)
{
    char path[MAX_PATH + 8];
    DCB dcb;
    COMMTIMEOUTS to;

    if (rt_strlen(name) <= 6 && (name[0] == 'C' || name[0] == 'c') && (name[1] == 'O' || name[1] == 'o') &&
        (name[2] == 'M' || name[2] == 'm')) {
        rt_fmt(path, sizeof path, "\\\\.\\%s", name);
    } else {
        rt_strlcpy(path, name, sizeof path);
    }
    port = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (port == INVALID_HANDLE_VALUE) {
        rt_eprintf("agent: cannot open %s: Win32 error %lu\r\n", path, GetLastError());
        return 0;
    }
    memset(&dcb, 0, sizeof dcb);
    dcb.DCBlength = sizeof dcb;
    is_comm = GetCommState(port, &dcb) ? 1 : 0;
    if (!is_comm) {
        rt_eprintf("agent: %s is not a comm device (Win32 error %lu); reading it as a stream\r\n", path, GetLastError());
        return 1;
    }
    dcb.BaudRate = CBR_115200;
    dcb.ByteSize = 8;
    dcb.Parity = NOPARITY;
    dcb.StopBits = ONESTOPBIT;
    dcb.fBinary = 1;
    dcb.fParity = 0;
    dcb.fOutxCtsFlow = 0;
    dcb.fOutxDsrFlow = 0;
    dcb.fDtrControl = DTR_CONTROL_ENABLE;
    dcb.fDsrSensitivity = 0;
    dcb.fOutX = 0;
    dcb.fInX = 0;
    dcb.fErrorChar = 0;
    dcb.fNull = 0;
    dcb.fRtsControl = RTS_CONTROL_ENABLE;
    dcb.fAbortOnError = 0;
    if (!SetCommState(port, &dcb)) {
        rt_eprintf("agent: SetCommState(%s, 115200 8N1) failed: Win32 error %lu; using the port as it is\r\n", path, GetLastError());
    }
    SetupComm(port, 16384, 16384);
    memset(&to, 0, sizeof to); /* all zero: ReadFile blocks until the requested bytes are there */
    if (!SetCommTimeouts(port, &to)) {
        rt_eprintf("agent: SetCommTimeouts(%s) failed: Win32 error %lu\r\n", path, GetLastError());
    }
    return 1;
}

/*
 * How long a read lets the rest of a frame gather before taking what is
 * there: polls ClearCommError every SETTLE_POLL_MS while cbInQue grows, up to
 * SETTLE_POLLS times. Under Wine on QEMU's 16550 the bytes of a frame trickle
 * into the tty a few at a time while the agent reads: taking cbInQue at once
 * read 1-16 bytes per ReadFile, and a PUT of 32 KiB moved at 10-35 KiB/s
 * (three Wine calls per few bytes). The line's own rate is megabytes a
 * second, so a frame's bytes are there a few milliseconds later.
 */
#define SETTLE_POLL_MS 1
#define SETTLE_POLLS 40
/* The Linux tty's read buffer is 4 KiB: cbInQue stops growing near it. */
#define SETTLE_ENOUGH 3968UL

static unsigned long queued(void)
{
    DWORD errors = 0;
    COMSTAT st;

    if (!ClearCommError(port, &errors, &st)) {
        return 0;
    }
    return st.cbInQue;
}

/*
 * Returns the number of bytes read into buf (at least 1), or 0 after a failed
 * read. `want` is how many bytes the frame in progress still lacks (0 when no
 * frame header has been seen): the read waits briefly for those to arrive.
 */
unsigned long serial_read(unsigned char *buf, unsigned long cap, unsigned long want)
{
    DWORD got = 0, more = 0;
    unsigned long have, last = 0, i, enough;

    if (cap == 0) {
        return 0;
    }
    if (!is_comm) {
        if (!ReadFile(port, buf, cap, &got, NULL)) {
            return 0;
        }
        return got;
    }
    if (!ReadFile(port, buf, 1, &got, NULL) || got == 0) {
        queued();
        return 0;
    }
    enough = want > 1 ? want - 1 : 0;
    if (enough > SETTLE_ENOUGH) {
        enough = SETTLE_ENOUGH;
    }
    if (enough > cap - 1) {
        enough = cap - 1;
    }
    have = queued();
    /* Stop early when the queue holds what the frame lacks, or stopped growing (the host paused). */
    for (i = 0; i < SETTLE_POLLS && have < enough && (i == 0 || have > last); i++) {
        last = have;
        Sleep(SETTLE_POLL_MS);
        have = queued();
    }
    more = have;
    if (more > cap - 1) {
        more = cap - 1;
    }
    if (more > 0 && ReadFile(port, buf + 1, more, &more, NULL)) {
        got += more;
    }
    return got;
}

void serial_write(const unsigned char *p, unsigned long n)
{
    DWORD done;
    while (n > 0) {
        done = 0;
        if (!WriteFile(port, p, n, &done, NULL) || done == 0) {
            rt_eprintf("agent: serial write failed: Win32 error %lu (%lu bytes lost)\r\n", GetLastError(), n);
            return;
        }
        p += done;
        n -= done;
    }
}

void serial_flush(void)
{
    FlushFileBuffers(port);
}
