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

/* Returns the number of bytes read into buf (at least 1), or 0 after a failed read. */
unsigned long serial_read(unsigned char *buf, unsigned long cap)
{
    DWORD got = 0, more = 0, errors = 0;
    COMSTAT st;

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
        ClearCommError(port, &errors, &st);
        return 0;
    }
    if (!ClearCommError(port, &errors, &st)) {
        return got;
    }
    more = st.cbInQue;
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
