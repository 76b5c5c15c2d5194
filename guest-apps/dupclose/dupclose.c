/* dupclose: the KB Q198663 cycle through WSADuplicateSocket (Winsock 2). */
#include "cycle.h"

static int give(SOCKET s, DWORD pid, HANDLE process, void *payload, unsigned *len)
{
    (void)process;
    if (WSADuplicateSocketA(s, pid, (LPWSAPROTOCOL_INFOA)payload) != 0) {
        return WSAGetLastError();
    }
    *len = sizeof(WSAPROTOCOL_INFOA);
    return 0;
}

static SOCKET take(const void *payload, unsigned len, int *err)
{
    WSAPROTOCOL_INFOA info;
    SOCKET s;
    if (len != sizeof info) {
        *err = WSAEINVAL;
        return INVALID_SOCKET;
    }
    memcpy(&info, payload, sizeof info);
    s = WSASocketA(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
    if (s == INVALID_SOCKET) {
        *err = WSAGetLastError();
    }
    return s;
}

static const struct dup_method wsa_duplicate = {
    "dupclose", MAKEWORD(2, 2), "WSADuplicateSocketA", "WSASocketA", give, take
};

int rt_main(int argc, char **argv)
{
    return cycle_main(argc, argv, &wsa_duplicate);
}
