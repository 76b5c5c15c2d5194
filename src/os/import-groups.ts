/**
 * The import groups the OS profiles grant: which DLLs and functions a guest
 * program may import, as data, each group with where it comes from.
 *
 * A DLL missing on an OS makes the loader refuse the program ("The ... file is
 * linked to missing export" on 9x, a dialog on NT); a function missing from a
 * DLL that exists does the same. Each group lists functions that exist on every
 * OS the group is granted to. The lists hold what the lab's programs use plus
 * the common calls a small no-CRT program reaches for; extend a group (or add
 * one) when a program needs more, with its source. msvcrt is on no list on
 * purpose: Win95 retail lacks it, and the versions on 98 (5.00) and NT 4
 * (4.20) differ, so the programs carry their own runtime (guest-apps/rt).
 */

export interface ImportGroup {
  /** Lower-case DLL file name. */
  dll: string;
  functions: readonly string[];
  source: string;
}

const WINSOCK_11 = [
  '__WSAFDIsSet', 'accept', 'bind', 'closesocket', 'connect', 'gethostbyaddr', 'gethostbyname', 'gethostname',
  'getpeername', 'getprotobyname', 'getprotobynumber', 'getservbyname', 'getservbyport', 'getsockname', 'getsockopt',
  'htonl', 'htons', 'inet_addr', 'inet_ntoa', 'ioctlsocket', 'listen', 'ntohl', 'ntohs', 'recv', 'recvfrom', 'select',
  'send', 'sendto', 'setsockopt', 'shutdown', 'socket', 'WSAAsyncGetHostByAddr', 'WSAAsyncGetHostByName',
  'WSAAsyncGetProtoByName', 'WSAAsyncGetProtoByNumber', 'WSAAsyncGetServByName', 'WSAAsyncGetServByPort',
  'WSAAsyncSelect', 'WSACancelAsyncRequest', 'WSACancelBlockingCall', 'WSACleanup', 'WSAGetLastError',
  'WSAIsBlocking', 'WSASetBlockingHook', 'WSASetLastError', 'WSAStartup', 'WSAUnhookBlockingHook',
] as const;

export const IMPORT_GROUPS = {
  'kernel32-win32-base': {
    dll: 'kernel32.dll',
    functions: [
      'AllocConsole', 'Beep', 'ClearCommBreak', 'ClearCommError', 'CloseHandle', 'CompareStringA', 'CopyFileA',
      'CreateDirectoryA', 'CreateEventA', 'CreateFileA', 'CreateFileMappingA', 'CreateMutexA', 'CreatePipe',
      'CreateProcessA', 'CreateSemaphoreA', 'CreateThread', 'DeleteCriticalSection', 'DeleteFileA', 'DeviceIoControl',
      'DuplicateHandle', 'EnterCriticalSection', 'EscapeCommFunction', 'ExitProcess', 'ExitThread',
      'ExpandEnvironmentStringsA', 'FileTimeToLocalFileTime', 'FileTimeToSystemTime', 'FindClose', 'FindFirstFileA',
      'FindNextFileA', 'FlushFileBuffers', 'FormatMessageA', 'FreeConsole', 'FreeEnvironmentStringsA', 'FreeLibrary',
      'GetCommModemStatus', 'GetCommState', 'GetCommTimeouts', 'GetCommandLineA', 'GetComputerNameA',
      'GetConsoleMode', 'GetCurrentDirectoryA', 'GetCurrentProcess', 'GetCurrentProcessId', 'GetCurrentThread',
      'GetCurrentThreadId', 'GetDiskFreeSpaceA', 'GetDriveTypeA', 'GetEnvironmentStrings', 'GetEnvironmentVariableA',
      'GetExitCodeProcess', 'GetExitCodeThread', 'GetFileAttributesA', 'GetFileSize', 'GetFileTime', 'GetFileType',
      'GetFullPathNameA', 'GetLastError', 'GetLocalTime', 'GetLogicalDrives', 'GetModuleFileNameA', 'GetModuleHandleA',
      'GetOverlappedResult', 'GetPrivateProfileStringA', 'GetProcAddress', 'GetProcessHeap', 'GetStartupInfoA',
      'GetStdHandle', 'GetSystemDirectoryA', 'GetSystemInfo', 'GetSystemTime', 'GetSystemTimeAsFileTime',
      'GetTempFileNameA', 'GetTempPathA', 'GetTickCount', 'GetVersion', 'GetVersionExA', 'GetVolumeInformationA',
      'GetWindowsDirectoryA', 'GlobalAlloc', 'GlobalFree', 'GlobalMemoryStatus', 'HeapAlloc', 'HeapCreate',
      'HeapDestroy', 'HeapFree', 'HeapReAlloc', 'HeapSize', 'InitializeCriticalSection', 'InterlockedDecrement',
      'InterlockedExchange', 'InterlockedIncrement', 'LeaveCriticalSection', 'LoadLibraryA', 'LocalAlloc', 'LocalFree',
      'MoveFileA', 'MultiByteToWideChar', 'OpenProcess', 'OutputDebugStringA', 'PeekNamedPipe', 'PurgeComm',
      'QueryPerformanceCounter', 'QueryPerformanceFrequency', 'ReadFile', 'ReleaseMutex', 'ReleaseSemaphore',
      'RemoveDirectoryA', 'ResetEvent', 'ResumeThread', 'SetCommBreak', 'SetCommMask', 'SetCommState',
      'SetCommTimeouts', 'SetConsoleCtrlHandler', 'SetConsoleMode', 'SetCurrentDirectoryA', 'SetEndOfFile',
      'SetEnvironmentVariableA', 'SetErrorMode', 'SetEvent', 'SetFileAttributesA', 'SetFilePointer', 'SetFileTime',
      'SetLastError', 'SetLocalTime', 'SetPriorityClass', 'SetStdHandle', 'SetSystemTime', 'SetThreadPriority',
      'SetupComm', 'Sleep', 'SuspendThread', 'SystemTimeToFileTime', 'TerminateProcess', 'TerminateThread', 'TlsAlloc',
      'TlsFree', 'TlsGetValue', 'TlsSetValue', 'TransmitCommChar', 'VirtualAlloc', 'VirtualFree', 'WaitCommEvent',
      'WaitForMultipleObjects', 'WaitForSingleObject', 'WideCharToMultiByte', 'WriteConsoleA', 'WriteFile',
      'WritePrivateProfileStringA', 'lstrcmpA', 'lstrcmpiA', 'lstrcpyA', 'lstrcpynA', 'lstrlenA',
    ],
    source:
      'Win32 base API present since Windows 95 and NT 3.51: MSDN Library (Platform SDK, 2000), each function\'s Requirements "Windows 95/98: Requires Windows 95 or later"',
  },
  'kernel32-win98-additions': {
    dll: 'kernel32.dll',
    functions: ['CancelIo', 'CreateWaitableTimerA', 'GetDiskFreeSpaceExA', 'GetFileAttributesExA', 'InterlockedCompareExchange', 'IsDebuggerPresent'],
    source: 'MSDN Library (Platform SDK, 2000) Requirements "Windows 98 or later" / "Windows NT 4.0 or later"; absent on Windows 95 retail',
  },
  'kernel32-nt-only': {
    dll: 'kernel32.dll',
    functions: ['ConnectNamedPipe', 'CreateNamedPipeA', 'GetHandleInformation', 'SetHandleInformation', 'SignalObjectAndWait', 'SwitchToThread'],
    source:
      'MSDN Library (Platform SDK, 2000) Requirements "Windows NT 3.51/4.0 or later", "Windows 95/98: Unsupported"; ../shared/notes/legacy-windows.md (SetHandleInformation does not exist on Win9x)',
  },
  'user32-win32-base': {
    dll: 'user32.dll',
    functions: [
      'ExitWindowsEx', 'FindWindowA', 'GetDC', 'GetDesktopWindow', 'GetSystemMetrics', 'MessageBeep', 'MessageBoxA',
      'PostMessageA', 'ReleaseDC', 'SendMessageA', 'keybd_event', 'wsprintfA', 'wvsprintfA',
    ],
    source: 'Win32 USER API present since Windows 95 and NT 3.51: MSDN Library (Platform SDK, 2000) Requirements',
  },
  'advapi32-win32-base': {
    dll: 'advapi32.dll',
    functions: [
      'GetUserNameA', 'RegCloseKey', 'RegCreateKeyExA', 'RegDeleteKeyA', 'RegDeleteValueA', 'RegEnumKeyExA',
      'RegEnumValueA', 'RegFlushKey', 'RegOpenKeyExA', 'RegQueryValueExA', 'RegSetValueExA',
    ],
    source: 'Win32 registry API present since Windows 95 and NT 3.51: MSDN Library (Platform SDK, 2000) Requirements',
  },
  'advapi32-security-stubs': {
    dll: 'advapi32.dll',
    functions: ['AdjustTokenPrivileges', 'LookupPrivilegeValueA', 'OpenProcessToken'],
    source:
      'Exported on 9x as stubs that fail with ERROR_CALL_NOT_IMPLEMENTED, real on NT (needed there for ExitWindowsEx); MSDN Requirements "Windows 95/98: Unsupported" (unverified here: check on a real Win95 before relying on it)',
  },
  'wsock32-winsock-1.1': {
    dll: 'wsock32.dll',
    functions: WINSOCK_11,
    source: 'Windows Sockets 1.1 specification; wsock32.dll ships with Windows 95 retail/OSR2, 98 and NT 4 (KB Q135539, Q158193, Q197017, Q196699)',
  },
  'ws2_32-winsock-2': {
    dll: 'ws2_32.dll',
    functions: [
      ...WINSOCK_11, 'WSAAccept', 'WSACloseEvent', 'WSAConnect', 'WSACreateEvent', 'WSADuplicateSocketA',
      'WSAEnumNetworkEvents', 'WSAEnumProtocolsA', 'WSAEventSelect', 'WSAGetOverlappedResult', 'WSAHtonl', 'WSAHtons',
      'WSAIoctl', 'WSANtohl', 'WSANtohs', 'WSARecv', 'WSARecvFrom', 'WSAResetEvent', 'WSASend', 'WSASendTo',
      'WSASetEvent', 'WSASocketA', 'WSAWaitForMultipleEvents',
    ],
    source:
      'Windows Sockets 2 API (ws2_32 4.00/4.10): the Winsock 2 update for Windows 95 (Ws2setup.exe, KB Q182108, files Q182381), Windows 98 (KB Q197017), NT 4 (KB Q196699)',
  },
  'iphlpapi-first-release': {
    dll: 'iphlpapi.dll',
    functions: ['GetIfTable', 'GetIpAddrTable', 'GetIpStatistics', 'GetNetworkParams', 'GetTcpStatistics', 'GetTcpTable', 'GetUdpTable'],
    source:
      'IP Helper API first release: Windows 98 and NT 4.0 SP4 (../shared/notes/legacy-windows.md; exact service-pack level unverified); not on Windows 95',
  },
  'iphlpapi-wine-extended': {
    dll: 'iphlpapi.dll',
    functions: ['GetExtendedTcpTable', 'GetExtendedUdpTable'],
    source: 'Windows XP SP2 and later, and Wine (../shared/notes/environment.md: GetExtendedTcpTable works under Wine 8)',
  },
} as const satisfies Record<string, ImportGroup>;

export type ImportGroupId = keyof typeof IMPORT_GROUPS;

