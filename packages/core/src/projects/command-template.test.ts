import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { KeelError } from '../errors.js';
import { renderCommand, scriptEntryPoint, shellQuote } from './command-template.js';
import type { EntryPointSpec } from './project-spec.js';

const entry = (command: string, names: string[] = []): EntryPointSpec => ({
  name: 'main',
  command,
  runtime: 'shell',
  parameters: names.map((name) => ({ name, type: 'string' })),
});

/** What bash prints for `printf '%s\n' <word>`: the word as the shell reads it. */
function shellReads(word: string): string {
  return execFileSync('bash', ['-c', `printf '%s' ${word}`], { encoding: 'utf8' });
}

describe('shellQuote', () => {
  it('leaves safe words alone and quotes the rest', () => {
    expect(shellQuote('0.5')).toBe('0.5');
    expect(shellQuote('/data/train.csv')).toBe('/data/train.csv');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'"'"'s'`);
  });

  it.each([
    'x; touch /tmp/keel-pwned',
    '$(touch /tmp/keel-pwned)',
    '`touch /tmp/keel-pwned`',
    "'; touch /tmp/keel-pwned; '",
    'a\nb && touch /tmp/keel-pwned',
    '*',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
    '$HOME ${PATH} \\ "q"',
  ])('bash reads %j back unchanged: nothing runs', (value) => {
    expect(shellReads(shellQuote(value))).toBe(value);
  });
});

describe('renderCommand', () => {
  it('substitutes quoted values, keeps {{ }} braces, appends extras as --key value', () => {
    const command = renderCommand(
      entry('python train.py --alpha {alpha} --json {{"k": 1}} --msg {msg}', ['alpha', 'msg']),
      {
        declared: { alpha: '0.5', msg: 'hello world' },
        extra: { seed: '7', 'note text': "a'b" },
      },
    );
    expect(command).toBe(
      `python train.py --alpha 0.5 --json {"k": 1} --msg 'hello world' --seed 7 '--note text' 'a'"'"'b'`,
    );
  });

  it.each([
    ['echo {missing}', "entry point 'main': the command uses {missing}, which is not a declared parameter"],
    [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
      'echo ${HOME}',
      "entry point 'main': the command uses {HOME}, which is not a declared parameter (write {{ and }}",
    ],
    ['echo {a!r}', "'{a!r}' is not a parameter placeholder"],
    ['echo {0}', "'{0}' is not a parameter placeholder"],
    ['echo {a', "'{a' is not a parameter placeholder"],
    ['echo a}', "single '}' in the command"],
  ])('refuses %j', (command, message) => {
    try {
      renderCommand(entry(command, ['a']), { declared: { a: '1' }, extra: {} });
      throw new Error('expected a refusal');
    } catch (error) {
      expect((error as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
      expect((error as Error).message).toContain(message);
    }
  });
});

describe('scriptEntryPoint', () => {
  it('runs .py with python (or the given interpreter), .sh with bash, .mjs with node; others are none', () => {
    expect(scriptEntryPoint('train.py')?.command).toBe('python train.py');
    expect(scriptEntryPoint('src/train.py', { python: 'python3' })).toEqual({
      name: 'src/train.py',
      command: 'python3 src/train.py',
      runtime: 'python',
      parameters: [],
    });
    expect(scriptEntryPoint('run me.sh')?.command).toBe("bash 'run me.sh'");
    expect(scriptEntryPoint('main.mjs')?.runtime).toBe('node');
    expect(scriptEntryPoint('{x}.py')?.command).toBe("python '{{x}}.py'");
    expect(scriptEntryPoint('main')).toBeUndefined();
    expect(scriptEntryPoint('train.R')).toBeUndefined();
  });
});
