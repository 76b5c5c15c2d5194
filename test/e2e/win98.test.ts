import { defineTargetSuite } from './target-suite.ts';

// Full cycle counts: a leaking stack must fill its 100-socket table (KB Q198663).
defineTargetSuite('win98');
