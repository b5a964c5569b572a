import { describe, expect, it } from 'vitest';
import { KeelError } from '../errors.js';
import { parseProjectFile } from './project-file.js';
import { parsePythonEnv } from './python-env.js';

/** The INVALID_PARAMETER_VALUE error `fn` throws (fails when it throws nothing or something else). */
function refusal(fn: () => unknown): KeelError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeelError);
    expect((error as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
    return error as KeelError;
  }
  throw new Error('expected a refusal');
}

describe('parseProjectFile (MLproject)', () => {
  it("reads MLflow's shape: short and long parameters, defaults as text, python_env", () => {
    const project = parseProjectFile(
      [
        'name: tutorial',
        'python_env: python_env.yaml',
        'entry_points:',
        '  main:',
        '    parameters:',
        '      alpha: {type: float, default: 1.0}',
        '      l1_ratio: {type: float, default: 0.1}',
        '      epochs: {type: int, default: 10}',
        '      flag: {default: yes}',
        '      n: {type: int, default: 3}',
        '      data: path',
        '      note: {type: string}',
        '    command: "python train.py {alpha} {l1_ratio}"',
        '  validate:',
        '    command: "python validate.py"',
        'unknown_key: ignored as MLflow ignores it',
      ].join('\n'),
      'mlproject',
    );
    expect(project).toEqual({
      name: 'tutorial',
      format: 'mlproject',
      environment: { kind: 'python_env', file: 'python_env.yaml' },
      entryPoints: {
        main: {
          name: 'main',
          command: 'python train.py {alpha} {l1_ratio}',
          runtime: 'shell',
          parameters: [
            { name: 'alpha', type: 'float', default: '1.0' },
            { name: 'l1_ratio', type: 'float', default: '0.1' },
            { name: 'epochs', type: 'int', default: '10' },
            { name: 'flag', type: 'string', default: 'True' },
            { name: 'n', type: 'int', default: '3' },
            { name: 'data', type: 'path' },
            { name: 'note', type: 'string' },
          ],
        },
        validate: { name: 'validate', command: 'python validate.py', runtime: 'shell', parameters: [] },
      },
    });
  });

  it('reads conda_env and docker_env', () => {
    expect(parseProjectFile('conda_env: conda.yaml\n', 'mlproject').environment).toEqual({
      kind: 'conda_env',
      file: 'conda.yaml',
    });
    expect(parseProjectFile('docker_env:\n  image: repo/img:1\n', 'mlproject').environment).toEqual({
      kind: 'docker_env',
      image: 'repo/img:1',
    });
    expect(parseProjectFile('', 'mlproject')).toEqual({
      format: 'mlproject',
      entryPoints: {},
      environment: { kind: 'none' },
    });
  });

  it.each([
    [
      'entry_points:\n  main:\n    parameters: {alpha: double}\n    command: x',
      "MLproject: entry_points.main.parameters.alpha.type must be one of string, float, int, path, uri; got 'double'",
    ],
    [
      'entry_points:\n  main:\n    parameters: {alpha: {type: float, default: abc}}\n    command: x',
      "MLproject: entry_points.main.parameters.alpha.default must be a float; got 'abc'",
    ],
    [
      'entry_points:\n  main:\n    parameters: {count: {type: int, default: 1.5}}\n    command: x',
      "MLproject: entry_points.main.parameters.count.default must be an int; got '1.5'",
    ],
    [
      'entry_points:\n  main:\n    parameters: {}\n',
      'MLproject: entry_points.main.command must be a non-empty string; got nothing',
    ],
    ['entry_points: [a, b]', 'MLproject: entry_points must be a mapping of entry point names; got a list'],
    [
      'python_env: a.yaml\nconda_env: b.yaml',
      'MLproject: a project declares one environment at most; found python_env and conda_env',
    ],
    ['docker_env: {}', 'MLproject: docker_env must be a mapping with a non-empty image; got a mapping'],
    ['- just\n- a list', 'MLproject must be a YAML mapping at the top level'],
    ['name: [x', 'MLproject is not valid YAML'],
    [
      'entry_points:\n  main:\n    parameters: {"bad key!": string}\n    command: x',
      "MLproject: entry_points.main.parameters.bad key!: Invalid parameter name 'bad key!'",
    ],
  ])('refuses %j naming the field', (text, message) => {
    expect(refusal(() => parseProjectFile(text, 'mlproject')).message).toContain(message);
  });
});

describe('parseProjectFile (keel-project.yaml)', () => {
  it('reads runtime per entry point and node_env', () => {
    const project = parseProjectFile(
      [
        'name: churn',
        'node_env:',
        '  lockfile: package-lock.json',
        '  node: 20',
        'entry_points:',
        '  train:',
        '    runtime: node',
        '    parameters: {epochs: {type: int, default: 3}}',
        '    command: node train.mjs --epochs {epochs}',
      ].join('\n'),
      'keel',
    );
    expect(project.format).toBe('keel');
    expect(project.nodeEnv).toEqual({ lockfile: 'package-lock.json', node: 20 });
    expect(project.entryPoints.train?.runtime).toBe('node');
  });

  it('defaults the lockfile and refuses unknown keys and runtimes, naming them', () => {
    expect(parseProjectFile('node_env: {}\n', 'keel').nodeEnv).toEqual({ lockfile: 'package-lock.json' });
    expect(refusal(() => parseProjectFile('entry_point: {}\n', 'keel')).message).toContain(
      "keel-project.yaml: unknown key 'entry_point'",
    );
    expect(
      refusal(() => parseProjectFile('entry_points:\n  a:\n    command: x\n    comand: y\n', 'keel')).message,
    ).toContain("unknown key 'entry_points.a.comand'");
    expect(
      refusal(() => parseProjectFile('entry_points:\n  a: {command: x, runtime: ruby}\n', 'keel')).message,
    ).toContain("keel-project.yaml: entry_points.a.runtime must be one of shell, node, python; got 'ruby'");
    expect(refusal(() => parseProjectFile('node_env: {node: "twenty"}\n', 'keel')).message).toContain(
      'node_env.node must be a Node.js major version',
    );
  });
});

describe('parsePythonEnv', () => {
  it('reads python, build_dependencies and dependencies; keeps 3.10 as written', () => {
    expect(
      parsePythonEnv(
        'python: 3.10\nbuild_dependencies: [pip]\ndependencies:\n  - -r requirements.txt\n',
        'python_env.yaml',
      ),
    ).toEqual({ python: '3.10', buildDependencies: ['pip'], dependencies: ['-r requirements.txt'] });
    expect(parsePythonEnv('', 'p.yaml')).toEqual({ buildDependencies: [], dependencies: [] });
  });

  it('refuses a dependencies entry that is not a string', () => {
    expect(refusal(() => parsePythonEnv('dependencies: [1, {a: b}]\n', 'python_env.yaml')).message).toBe(
      'python_env.yaml: dependencies must be a list of pip requirement strings',
    );
  });
});
