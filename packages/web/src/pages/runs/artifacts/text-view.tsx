import { Fragment } from 'react';

/** Props of {@link TextView}. */
export interface TextViewProps {
  text: string;
  /** `yaml` colours keys and comments. @default 'plain' */
  highlight?: 'plain' | 'yaml';
}

/** A block of file text: monospace, wrapped long lines, optionally YAML-coloured. */
export function TextView({ text, highlight = 'plain' }: TextViewProps) {
  return (
    <pre className="text-view">
      <code>{highlight === 'yaml' ? <YamlLines text={text} /> : text}</code>
    </pre>
  );
}

/** `key:` at the start of a line (after indentation and an optional list dash), then the rest. */
const YAML_KEY = /^(\s*(?:-\s+)?)([^\s#'"][^:#]*?|'[^']*'|"[^"]*"):(\s|$)/;

function YamlLines({ text }: { text: string }) {
  const lines = text.split('\n');
  return (
    <>
      {lines.map((line, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional and never reorder
        <Fragment key={index}>
          <YamlLine line={line} />
          {index < lines.length - 1 ? '\n' : ''}
        </Fragment>
      ))}
    </>
  );
}

function YamlLine({ line }: { line: string }) {
  if (/^\s*#/.test(line)) return <span className="syntax-comment">{line}</span>;
  const match = YAML_KEY.exec(line);
  if (match === null) return <>{line}</>;
  const [, indent = '', key = ''] = match;
  return (
    <>
      {indent}
      <span className="syntax-key">{key}</span>:{line.slice(indent.length + key.length + 1)}
    </>
  );
}
