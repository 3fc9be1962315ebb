/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

const styles = `
:root { color-scheme: light dark; --fg: #1a1a1a; --bg: #fff; --accent: #0b5394; --muted: #555; --border: #c8c8c8; --error: #b00020; }
@media (prefers-color-scheme: dark) { :root { --fg: #f0f0f0; --bg: #161616; --accent: #8ab4f8; --muted: #bbb; --border: #555; --error: #ff8a80; } }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
.skip { position: absolute; left: -10000px; } .skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 1rem; }
header { display: flex; gap: 1rem; align-items: baseline; border-bottom: 1px solid var(--border); }
header nav { display: flex; gap: 1rem; flex-wrap: wrap; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input[type=email], input[type=password], input[type=text] { width: 100%; max-width: 28rem; padding: .5rem; font: inherit; border: 1px solid var(--muted); border-radius: 4px; background: var(--bg); color: var(--fg); }
button { margin-top: 1rem; padding: .6rem 1.2rem; font: inherit; background: var(--accent); color: var(--bg); border: 0; border-radius: 4px; cursor: pointer; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.error { color: var(--error); font-weight: 600; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .4rem; border-bottom: 1px solid var(--border); vertical-align: top; }
pre { white-space: pre-wrap; word-break: break-word; border: 1px solid var(--border); padding: .5rem; }
iframe { width: 100%; height: 70vh; border: 1px solid var(--border); background: #fff; }
`;

export function Layout(props: { title: string; lang?: 'nl' | 'en'; nav?: Child; children: Child }) {
  return (
    <html lang={props.lang ?? 'nl'}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Thuispost`}</title>
        <style>{styles}</style>
      </head>
      <body>
        <a class="skip" href="#inhoud">
          Naar de inhoud
        </a>
        <header>
          <strong>Thuispost</strong>
          {props.nav}
        </header>
        <main id="inhoud">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function FormError(props: { id: string; message: string | undefined }) {
  return props.message ? (
    <p id={props.id} class="error" role="alert">
      {props.message}
    </p>
  ) : null;
}
