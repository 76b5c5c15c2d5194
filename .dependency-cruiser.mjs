/**
 * Dependency rules checked by `npm run check` (dependency-cruiser).
 * Folders under src/ are the domains of the orchestrator; a loop between
 * folders means no domain can be understood, tested or changed on its own, so
 * none is allowed. src/model and src/os are the bottom layer: they import nothing of ours.
 */
export default {
  forbidden: [
    {
      name: 'no-folder-cycle',
      comment: 'Folders under src/ must not import each other in a loop: move the shared piece down (often into src/model).',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'model-imports-nothing-of-ours',
      comment:
        'src/model is the bottom layer (scenario catalog, observation, result types): it may import only packages and node built-ins.',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { path: '^src/', pathNot: '^src/model/' },
    },
    {
      name: 'os-profiles-import-nothing-of-ours',
      comment:
        'src/os (the OS families and profiles) sits at the bottom beside src/model: config, pe, licensed, targets and scenarios read it, it reads none of them.',
      severity: 'error',
      from: { path: '^src/os/' },
      to: { path: '^src/', pathNot: '^src/os/' },
    },
    {
      name: 'wait-core-imports-no-domain',
      comment:
        "src/wait (waitFor and the generic strategies: socket listening) is a layer under every domain, so that agent, qemu and targets can all use it: it may import only src/util and src/errors.ts. A strategy that knows a protocol (QMP up, the agent banner) lives in that protocol's folder.",
      severity: 'error',
      from: { path: '^src/wait/' },
      to: { path: '^src/', pathNot: ['^src/wait/', '^src/util/', '^src/errors\\.ts$'] },
    },
    {
      name: 'no-module-cycle',
      comment: 'Files must not import each other in a loop at run time (a loop through a type-only import is harmless).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
  },
};
