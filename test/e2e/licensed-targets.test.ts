import { listLicensedTargets } from '../../src/config/target-list.ts';
import { defineTargetSuite } from './target-suite.ts';

// Every licensed target of vms/ (win95, win98, winme, winnt4, win2000, and any
// folder added later), each skipped with the fix while no image is configured.
// Full cycle counts: a leaking stack must fill its 100-socket table (KB Q198663).
for (const target of await listLicensedTargets()) defineTargetSuite(target);
