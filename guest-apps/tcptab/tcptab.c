/* tcptab: prints the TCP table through iphlpapi's GetTcpTable. iphlpapi is
 * loaded at run time so the program still starts on Windows 95, which has no
 * iphlpapi; there it exits with TCPTAB_EXIT_UNAVAILABLE and the host falls back
 * to NETSTAT. The output format is documented in guest-apps/README.md. */
#include "rt.h"

#define TCPTAB_EXIT_OK 0
#define TCPTAB_EXIT_FAILED 1
#define TCPTAB_EXIT_USAGE 2
#define TCPTAB_EXIT_UNAVAILABLE 3

/* MIB_TCPROW/MIB_TCPTABLE as documented for GetTcpTable; declared here so the
 * program needs no iphlpapi header or import library. */
struct tcp_row {
    DWORD state;
    DWORD local_addr;
    DWORD local_port;
    DWORD remote_addr;
    DWORD remote_port;
};

struct tcp_table {
    DWORD count;
    struct tcp_row rows[1];
};

typedef DWORD (WINAPI *get_tcp_table_fn)(struct tcp_table *table, DWORD *size, BOOL order);

static const char *const state_names[] = {
    "UNKNOWN", "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
    "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "DELETE_TCB"
};

/* Ports are stored in network byte order in the low 16 bits. */
static unsigned port_of(DWORD v)
{
    return (unsigned)(((v & 0xFF) << 8) | ((v >> 8) & 0xFF));
}

static void format_endpoint(char *buf, unsigned size, DWORD addr, DWORD port)
{
    const unsigned char *ip = (const unsigned char *)&addr;
    rt_fmt(buf, size, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], port_of(port));
}

int rt_main(int argc, char **argv)
{
    HMODULE dll;
    get_tcp_table_fn get_tcp_table;
    struct tcp_table *table = 0;
    DWORD size = 0, rc, i, state;
    char local[32], remote[32];
    int tries;

    (void)argv;
    if (argc > 1) {
        rt_eprintf("usage: tcptab (no arguments)\r\n");
        return TCPTAB_EXIT_USAGE;
    }
    dll = LoadLibraryA("iphlpapi.dll");
    if (!dll) {
        rt_printf("event=unavailable dll=iphlpapi.dll function=GetTcpTable err=%lu\r\n", (unsigned long)GetLastError());
        return TCPTAB_EXIT_UNAVAILABLE;
    }
    get_tcp_table = (get_tcp_table_fn)GetProcAddress(dll, "GetTcpTable");
    if (!get_tcp_table) {
        rt_printf("event=unavailable dll=iphlpapi.dll function=GetTcpTable err=%lu\r\n", (unsigned long)GetLastError());
        return TCPTAB_EXIT_UNAVAILABLE;
    }
    /* The table can grow between the size query and the read: retry a few times. */
    rc = ERROR_INSUFFICIENT_BUFFER;
    for (tries = 0; tries < 5 && rc == ERROR_INSUFFICIENT_BUFFER; tries++) {
        rt_free(table);
        size += 16 * sizeof(struct tcp_row);
        table = (struct tcp_table *)rt_alloc(size);
        if (!table) {
            rt_printf("event=error call=HeapAlloc err=%lu\r\n", (unsigned long)GetLastError());
            return TCPTAB_EXIT_FAILED;
        }
        rc = get_tcp_table(table, &size, TRUE);
    }
    if (rc != NO_ERROR) {
        rt_printf("event=error call=GetTcpTable err=%lu\r\n", (unsigned long)rc);
        return TCPTAB_EXIT_FAILED;
    }
    for (i = 0; i < table->count; i++) {
        state = table->rows[i].state;
        format_endpoint(local, sizeof local, table->rows[i].local_addr, table->rows[i].local_port);
        /* A listener's remote port is left over from nothing: show it as 0. */
        format_endpoint(remote, sizeof remote, table->rows[i].remote_addr, state == 2 ? 0 : table->rows[i].remote_port);
        rt_printf("event=row state=%s state_code=%lu local=%s remote=%s\r\n",
                  state < sizeof state_names / sizeof state_names[0] ? state_names[state] : "UNKNOWN",
                  (unsigned long)state, local, remote);
    }
    rt_printf("event=count rows=%lu\r\n", (unsigned long)table->count);
    return TCPTAB_EXIT_OK;
}
