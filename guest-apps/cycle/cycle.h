/*
 * cycle: the duplicate/close harness shared by dupclose (WSADuplicateSocket,
 * Winsock 2) and duphandle (DuplicateHandle, Winsock 1.1). It owns the
 * options, the child processes, the pipes, the loopback listener, the event
 * lines and the exit codes; a program only says how a socket is handed to a
 * child (struct dup_method). The event format is documented in
 * guest-apps/README.md.
 */
#ifndef CYCLE_H
#define CYCLE_H

#include <winsock2.h>
#include "rt.h"

#define CYCLE_PAYLOAD_MAX 512

struct dup_method {
    /* Program name printed in the start event. */
    const char *prog;
    /* Version asked of WSAStartup. */
    WORD winsock_version;
    /* Name of the call that makes the child's copy, printed as call=. */
    const char *give_call;
    /* Name of the call that opens the copy in the child. */
    const char *take_call;
    /* Makes a copy of s for the child process (pid, handle) and serialises it
     * into payload (at most CYCLE_PAYLOAD_MAX bytes), setting *len. Returns 0
     * or the Winsock/Win32 error code. */
    int (*give)(SOCKET s, DWORD pid, HANDLE process, void *payload, unsigned *len);
    /* Opens the copy described by payload in the child. Returns the socket,
     * or INVALID_SOCKET with *err set. */
    SOCKET (*take)(const void *payload, unsigned len, int *err);
};

int cycle_main(int argc, char **argv, const struct dup_method *method);

#endif
