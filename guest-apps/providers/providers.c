/* providers: prints every Winsock 2 provider (WSAEnumProtocolsA) and the one
 * dupclose makes its sockets on (provider_choose, KB Q216603), so the choice
 * can be checked on a real provider list. Output:
 *   event=entry index=I catalog_id=.. af=.. type=.. protocol=.. chain_len=.. flags1=0x.. name=..
 *   event=choice ok=1 index=I <the same fields>   (ok=0 index=-1 when none fits)
 * Exit codes: 0 a provider was chosen, 1 none fits, 2 usage, 3 WSAStartup or
 * WSAEnumProtocolsA failed (event=error call=.. err=..). */
#include "rt.h"
#include "provider.h"

int rt_main(int argc, char **argv)
{
    WSADATA wsa;
    WSAPROTOCOL_INFOA *list;
    int count, index, i, err;
    char fields[RT_LINE_MAX / 2];
    if (argc != 1) {
        rt_printf("event=usage-error arg=%s\r\n", argv[1]);
        return 2;
    }
    err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err) {
        rt_printf("event=error call=WSAStartup err=%d\r\n", err);
        return 3;
    }
    err = provider_enumerate(&list, &count);
    if (err) {
        rt_printf("event=error call=WSAEnumProtocolsA err=%d\r\n", err);
        return 3;
    }
    for (i = 0; i < count; i++) {
        provider_fields(fields, sizeof fields, &list[i]);
        rt_printf("event=entry index=%d %s\r\n", i, fields);
    }
    index = provider_choose(list, count);
    if (index < 0) {
        rt_printf("event=choice ok=0 index=-1 providers=%d\r\n", count);
        return 1;
    }
    provider_fields(fields, sizeof fields, &list[index]);
    rt_printf("event=choice ok=1 index=%d providers=%d %s\r\n", index, count, fields);
    return 0;
}
