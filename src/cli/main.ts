import { VERSION } from '../engine/version';

const USAGE = `Usage: datakit-ci <command> [options]

Commands:
  --version     print the version
  --help        print this help
`;

export function main(argv: string[]): number {
  const [cmd] = argv;
  if (cmd === '--version' || cmd === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (cmd === undefined || cmd === '--help' || cmd === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stderr.write(`datakit-ci: unknown command '${cmd}'\n${USAGE}`);
  return 2;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
