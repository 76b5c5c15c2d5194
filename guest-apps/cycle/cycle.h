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
    /* Called once after WSAStartup in every process that connects (parent,
     * launcher); it reports what it chose with cycle_emit. Returns 1, or 0
     * when the program cannot go on (exit code 3). 0: nothing to prepare. */
    int (*prepare)(void);
    /* Makes the socket that is connected and duplicated, named by
     * make_call; 0: socket(AF_INET, SOCK_STREAM, 0), the Winsock 1.1 way. */
    SOCKET (*make_socket)(void);
    const char *make_call;
};

int cycle_main(int argc, char **argv, const struct dup_method *method);

/* Writes one event line, "event=NAME role=ROLE app=K" and the fields of fmt. */
void cycle_emit(const char *event, const char *fmt, ...);

#endif
