// Refreshes the CLI reference in README.md from the command table (src/cli/command-table.ts).
import { README_FILE, writeReferenceIntoReadme } from '../src/cli/cli-reference.ts';

const changed = await writeReferenceIntoReadme();
process.stdout.write(changed ? `${README_FILE}: CLI reference updated\n` : `${README_FILE}: CLI reference already up to date\n`);
