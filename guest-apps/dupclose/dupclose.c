/* dupclose: the KB Q198663 cycle through WSADuplicateSocket (Winsock 2). */
#include "cycle.h"
#include "provider.h"

/* The provider every connected socket is made on (KB Q216603, provider.h). */
static WSAPROTOCOL_INFOA tcp_provider;

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

static int prepare(void)
{
    WSAPROTOCOL_INFOA *list;
    int count, index, err;
    char fields[RT_LINE_MAX / 2];
    err = provider_enumerate(&list, &count);
    if (err) {
        cycle_emit("provider", "ok=0 err=%d call=WSAEnumProtocolsA providers=0 index=-1", err);
        return 0;
    }
    index = provider_choose(list, count);
    if (index < 0) {
        /* No plain TCP provider: socket() could only pick one the KB says
           cannot be duplicated, so the program stops here. */
        cycle_emit("provider", "ok=0 err=0 call=choose providers=%d index=-1", count);
        rt_free(list);
        return 0;
    }
    tcp_provider = list[index];
    rt_free(list);
    provider_fields(fields, sizeof fields, &tcp_provider);
    cycle_emit("provider", "ok=1 err=0 call=choose providers=%d index=%d %s", count, index, fields);
    return 1;
}

/* WSA_FLAG_OVERLAPPED: what socket() gives, so only the provider differs. */
static SOCKET make_socket(void)
{
    return WSASocketA(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &tcp_provider, 0, WSA_FLAG_OVERLAPPED);
}

static const struct dup_method wsa_duplicate = {
    "dupclose", MAKEWORD(2, 2), "WSADuplicateSocketA", "WSASocketA", give, take, prepare, make_socket, "WSASocketA"
};

int rt_main(int argc, char **argv)
{
    return cycle_main(argc, argv, &wsa_duplicate);
}
