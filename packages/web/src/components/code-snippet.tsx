import { useState } from 'react';

/** Props of {@link CodeSnippet}. */
export interface CodeSnippetProps {
  code: string;
  /** Shown above the code, e.g. `Python` or `Shell`. */
  label: string;
}

/** A block of code to copy into a terminal or an editor, with a copy button. */
export function CodeSnippet({ code, label }: CodeSnippetProps) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    navigator.clipboard.writeText(code).then(
      () => {
        setCopied(true);
        window.setTimeout(() => setCopied(false), 1500);
      },
      () => setCopied(false), // Clipboard refused (insecure origin): the text is still selectable.
    );
  };
  return (
    <figure className="code-snippet">
      <figcaption>
        <span>{label}</span>
        <button type="button" className="button ghost small" onClick={copy} aria-label={`Copy ${label} code`}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </figcaption>
      <pre>
        <code>{code}</code>
      </pre>
    </figure>
  );
}
