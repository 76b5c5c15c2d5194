import type { PeImage } from '../pe/pe-reader.ts';

/**
 * The DLLs a program imports that its table entry does not link. The
 * allowlists would accept such a DLL if the OS has it, so this is the check
 * that catches a C runtime slipping in: Open Watcom's clib, for one, imports
 * USER32.DLL!CharUpperA, which nothing of ours asks for.
 */
export function undeclaredImports(image: PeImage, libs: readonly string[]): string[] {
  const declared = new Set(libs.map((l) => `${l.toLowerCase()}.dll`));
  return image.imports
    .filter((i) => !declared.has(i.dll.toLowerCase()))
    .map((i) => `${i.dll}!${i.functions.map((f) => (f.kind === 'name' ? f.name : `#${f.ordinal}`)).join(',')}`);
}
