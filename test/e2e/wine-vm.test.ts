import { defineTargetSuite } from './target-suite.ts';

// An open target is clean after 5 cycles as after 120: the cycle is the same hand-over each time, and a leak
// shows from the first held connection. On wine-vm a cycle is a process hand-over under TCG (about 1 s), so CI
// runs at most 5 per program (10 on wine, where a cycle costs a fraction of that).
defineTargetSuite('wine-vm', { maxCycles: 5 });
