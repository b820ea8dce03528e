// A Python project's jobs (pyproject.toml, setup.cfg, setup.py, tox.ini, noxfile.py or pytest.ini at the root): pytest
// when the project declares it, else unittest over its tests folder, and ruff, flake8 and mypy when they are
// configured; a setup that makes a virtual environment (.venv) inside the checkout and installs the project
// with uv, poetry or pip, keyed on the lockfile or the project files. Only reads files. The commands are
// POSIX shell (.venv/bin).
import { isFile, isFolder, readText } from './suggestRead';
import { readToml, stringsOf, type TomlTables } from './toml';
import type { SuggestedJob, SuggestedSetup } from './types';
import type { Skipped } from './suggestWorkspaces';

export const PYTHON_TOOLCHAIN = ['python3 --version'];
/** The files that make a Python project of the repository (pytest.ini: tests that pytest runs). */
const PROJECT_FILES = ['pyproject.toml', 'setup.cfg', 'setup.py', 'tox.ini', 'noxfile.py', 'pytest.ini'];
/** A Python project's jobs read code and data from anywhere in the tree: everything but documentation. */
const PY_INPUTS = ['**', '!**/*.md', '!**/*.rst', '!doc/**', '!docs/**', '!documentation/**'];
/** The extras that usually hold the test and lint tools, installed with the project when it declares them. */
const EXTRAS = ['test', 'tests', 'testing', 'dev', 'lint'];

interface Found {
  readonly pyproject?: TomlTables;
  readonly setupCfg: Set<string>;
  readonly toxIni: Set<string>;
  /** Every requirement the project declares (dependencies, extras, groups, poetry's), as written. */
  readonly requirements: string[];
}

/** The section names of an INI file (setup.cfg, tox.ini). */
export function iniSections(text: string): Set<string> {
  // Blanks, not \s, before the bracket: \s takes line ends, so each line start scanned on (quadratic).
  return new Set([...text.matchAll(/^[ \t]*\[([^\]\n]+)\]/gm)].map((m) => m[1]!.trim()));
}

const declares = (f: Found, tool: string): boolean => f.requirements.some((r) => new RegExp(`^${tool}(?![A-Za-z0-9_.-])`, 'i').test(r.trim()));

/** The Python jobs and the setup they need. */
export function pythonSuggestions(repoDir: string, names: Set<string>, skipped: Skipped[]): { jobs: SuggestedJob[]; setup?: SuggestedSetup } {
  const files = PROJECT_FILES.filter((f) => names.has(f));
  if (files.length === 0) { return { jobs: [] }; }
  const found = read(repoDir, names, skipped);
  const tables = found.pyproject?.tables;
  const hasTable = (prefix: string): boolean => [...(tables?.keys() ?? [])].some((t) => t === prefix || t.startsWith(`${prefix}.`));
  const python = '.venv/bin/python';
  const path = !isFile(repoDir, 'setup.py') && isFolder(repoDir, 'src') ? 'PYTHONPATH=src ' : '';
  const base = { inputs: PY_INPUTS, toolInputs: PYTHON_TOOLCHAIN };
  const jobs: SuggestedJob[] = [];
  const pytestWhy = declares(found, 'pytest') ? "pytest in pyproject.toml's requirements"
    : hasTable('tool.pytest') ? '[tool.pytest.ini_options] in pyproject.toml' : names.has('pytest.ini') ? 'pytest.ini'
      : found.setupCfg.has('tool:pytest') ? '[tool:pytest] in setup.cfg' : found.toxIni.has('pytest') ? '[pytest] in tox.ini' : undefined;
  const testDir = ['tests', 'test'].find((d) => isFolder(repoDir, d));
  if (pytestWhy) {
    jobs.push({ name: 'python.test', run: `${path}${python} -m pytest`, ...base, from: `${pytestWhy} (pytest)` });
  } else if (testDir) {
    const start = isFile(repoDir, `${testDir}/__init__.py`) ? '' : ` -s ${testDir}`;
    jobs.push({ name: 'python.test', run: `${path}${python} -m unittest discover${start}`, ...base, from: `the ${testDir} folder, no pytest declared (unittest)` });
  }
  const tools: string[] = pytestWhy ? ['pytest'] : [];
  const lint = (tool: string, why: string | undefined, args: string): void => {
    if (!why) { return; }
    tools.push(tool);
    jobs.push({ name: `python.${tool}`, run: `${path}${python} -m ${tool}${args}`, ...base, from: `${why} (${tool})` });
  };
  lint('ruff', hasTable('tool.ruff') ? '[tool.ruff] in pyproject.toml' : ['ruff.toml', '.ruff.toml'].find((f) => names.has(f)), ' check .');
  lint('flake8', names.has('.flake8') ? '.flake8' : found.setupCfg.has('flake8') ? '[flake8] in setup.cfg' : found.toxIni.has('flake8') ? '[flake8] in tox.ini' : undefined, ' --extend-exclude .venv,doc,docs,documentation');
  lint('mypy', hasTable('tool.mypy') ? '[tool.mypy] in pyproject.toml' : ['mypy.ini', '.mypy.ini'].find((f) => names.has(f)) ?? (found.setupCfg.has('mypy') ? '[mypy] in setup.cfg' : undefined), ' .');
  if (jobs.length === 0) {
    skipped.push({ file: files[0], reason: 'a Python project without pytest, a tests or test folder, or ruff, flake8 or mypy configured: no job suggested' });
    return { jobs };
  }
  return { jobs, setup: pythonSetup(names, found, tools.filter((t) => !declares(found, t))) };
}

function read(repoDir: string, names: Set<string>, skipped: Skipped[]): Found {
  const text = names.has('pyproject.toml') ? readText(repoDir, 'pyproject.toml', skipped) : undefined;
  const pyproject = text === undefined ? undefined : readToml(text);
  if (pyproject && pyproject.unread.length > 0) { skipped.push({ file: 'pyproject.toml', reason: `line ${pyproject.unread.join(', ')} could not be read: what they declare is not used` }); }
  const ini = (f: string): Set<string> => { const t = names.has(f) ? readText(repoDir, f, skipped) : undefined; return t === undefined ? new Set() : iniSections(t); };
  // Added one by one: a list of 200,000 spread into push() overflowed the stack.
  const requirements: string[] = [];
  const add = (list: Iterable<string>): void => { for (const r of list) { requirements.push(r); } };
  for (const [table, keys] of pyproject?.tables ?? []) {
    if (table === 'project') { add(stringsOf(keys.get('dependencies'))); }
    if (table === 'project.optional-dependencies' || table === 'dependency-groups' || table === 'tool.pdm.dev-dependencies') { for (const v of keys.values()) { add(stringsOf(v)); } }
    if (/^tool\.poetry\.(dev-dependencies|dependencies|group\.[^.]+\.dependencies)$/.test(table)) { add(keys.keys()); }
  }
  return { ...(pyproject ? { pyproject } : {}), setupCfg: ini('setup.cfg'), toxIni: ini('tox.ini'), requirements };
}

/** The virtual environment: uv sync by uv.lock, poetry install by poetry.lock, else pip by the project files. */
function pythonSetup(names: Set<string>, found: Found, missing: string[]): SuggestedSetup {
  const projectFiles = ['pyproject.toml', 'setup.cfg', 'setup.py'].filter((f) => names.has(f));
  const extra = (pip: string): string => (missing.length > 0 ? ` && ${pip} install ${missing.join(' ')}` : '');
  const base = { toolInputs: PYTHON_TOOLCHAIN, upgrade: 'a Python upgrade' };
  // Extras too (a test extra holds pytest); uv's environment has no pip of its own: `uv pip` installs into it.
  if (names.has('uv.lock')) { return { run: `uv sync --all-extras${extra('uv pip')}`, inputs: ['uv.lock', ...projectFiles], ...base, from: 'uv.lock' }; }
  if (names.has('poetry.lock')) { return { run: `POETRY_VIRTUALENVS_IN_PROJECT=true poetry install --all-extras${extra('.venv/bin/pip')}`, inputs: ['poetry.lock', ...projectFiles], ...base, from: 'poetry.lock' }; }
  const declared: string[] = [];
  for (const k of found.pyproject?.tables.get('project.optional-dependencies')?.keys() ?? []) { if (EXTRAS.includes(k)) { declared.push(k); } }
  const installable = names.has('setup.py') || (names.has('pyproject.toml') && found.pyproject?.tables.has('build-system')) || names.has('setup.cfg');
  const project = installable ? [declared.length > 0 ? `-e '.[${declared.join(',')}]'` : '-e .'] : [];
  const install = [...project, ...missing];
  const run = `python3 -m venv .venv${install.length > 0 ? ` && .venv/bin/pip install ${install.join(' ')}` : ''}`;
  return { run, inputs: projectFiles.length > 0 ? projectFiles : PROJECT_FILES.filter((f) => names.has(f)), ...base, from: projectFiles.length > 0 ? projectFiles.join(', ') : 'the Python tools' };
}
