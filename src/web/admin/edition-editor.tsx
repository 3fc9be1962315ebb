/** @jsxImportSource hono/jsx */
import type { z } from 'zod';
import type { EditionInputSchema } from '../../api/routes/editions.js';
import type { OrganisationKind } from '../../db/schema.js';
import type { Block } from '../../domain/edition-content.js';
import type { EditionView } from '../../domain/editions.js';
import { asList, CheckboxGroup, Field, type FieldErrors, fieldId, SelectField } from './ui.js';

/**
 * The edition form without JavaScript: the metadata fields, and the content blocks as fieldsets
 * named `blocks.<n>.<field>` (links: `blocks.<n>.items.<m>.<field>`), so zod's error paths name
 * the very field they belong to. Every button of the form submits it; its `op` says what to do
 * besides saving: move, remove or add a block or a link.
 */

export type BlockType = Block['type'];

export const BLOCK_LABELS: Record<BlockType, string> = {
  heading: 'Kop',
  paragraph: 'Alinea',
  image: 'Afbeelding',
  button: 'Knop',
  divider: 'Scheidingslijn',
  links: 'Lijst met links',
};
const BLOCK_TYPES = Object.keys(BLOCK_LABELS) as BlockType[];

export const KIND_LABELS: Record<OrganisationKind, string> = {
  gemeente: 'Gemeenten',
  zorgaanbieder: 'Zorgaanbieders',
  woningcorporatie: 'Woningcorporaties',
  overig: 'Overige organisaties',
};

/** A link of a links block as the form holds it: text, possibly incomplete. */
export interface LinkDraft {
  title: string;
  summary: string;
  url: string;
}

/** A block as the form holds it: every field as typed, so a refused form shows what was entered. */
export interface BlockDraft {
  type: string;
  fields: Record<string, string>;
  items: LinkDraft[];
}

/** The whole form as typed. */
export interface EditionDraft {
  title: string;
  subject: string;
  preheader: string;
  slug: string;
  locale: string;
  topics: string[];
  organisationKinds: string[];
  openTracking: boolean;
  imageUrl: string;
  blocks: BlockDraft[];
}

export function emptyBlock(type: BlockType): BlockDraft {
  return {
    type,
    fields: type === 'heading' ? { level: '2' } : {},
    items: type === 'links' ? [emptyLink()] : [],
  };
}

const emptyLink = (): LinkDraft => ({ title: '', summary: '', url: '' });

export function isBlockType(value: string): value is BlockType {
  return (BLOCK_TYPES as string[]).includes(value);
}

/** The stored edition in the form's shape. */
export function draftOfEdition(edition: EditionView): EditionDraft {
  return {
    title: edition.title,
    subject: edition.subject,
    preheader: edition.preheader,
    slug: edition.slug,
    locale: edition.locale,
    topics: edition.topics,
    organisationKinds: edition.organisation_kinds,
    openTracking: edition.open_tracking,
    imageUrl: edition.image_url ?? '',
    blocks: (edition.blocks as Block[]).map(draftOfBlock),
  };
}

function draftOfBlock(block: Block): BlockDraft {
  const { type, ...rest } = block;
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(rest)) {
    if (name !== 'items' && value !== undefined) fields[name] = String(value);
  }
  const items =
    block.type === 'links'
      ? block.items.map((item) => ({ title: item.title, summary: item.summary ?? '', url: item.url }))
      : [];
  return { type, fields, items };
}

const BLOCK_FIELD = /^blocks\.(\d{1,4})\.([a-z]+)$/i;
const ITEM_FIELD = /^blocks\.(\d{1,4})\.items\.(\d{1,4})\.(title|summary|url)$/;

/** The posted form in its own shape; blocks and links in the order of their numbers, gaps closed. */
export function draftOfForm(form: Record<string, string | string[]>): EditionDraft {
  const single = (name: string) => {
    const value = form[name];
    return typeof value === 'string' ? value : '';
  };
  const blocks = new Map<
    number,
    { type: string; fields: Record<string, string>; items: Map<number, LinkDraft> }
  >();
  const blockAt = (n: number) => {
    let block = blocks.get(n);
    if (!block) {
      block = { type: '', fields: {}, items: new Map() };
      blocks.set(n, block);
    }
    return block;
  };
  for (const [name, value] of Object.entries(form)) {
    if (typeof value !== 'string') continue;
    const item = ITEM_FIELD.exec(name);
    if (item) {
      const links = blockAt(Number(item[1])).items;
      const n = Number(item[2]);
      const link = links.get(n) ?? emptyLink();
      link[item[3] as keyof LinkDraft] = value;
      links.set(n, link);
      continue;
    }
    const field = BLOCK_FIELD.exec(name);
    if (field) {
      const block = blockAt(Number(field[1]));
      if (field[2] === 'type') block.type = value;
      else block.fields[field[2]!] = value;
    }
  }
  const byNumber = <T,>(map: Map<number, T>) =>
    [...map.entries()].sort(([a], [b]) => a - b).map(([, v]) => v);
  return {
    title: single('title'),
    subject: single('subject'),
    preheader: single('preheader'),
    slug: single('slug'),
    locale: single('locale'),
    topics: asList(form.topics),
    organisationKinds: asList(form.organisationKinds),
    openTracking: single('openTracking') === 'on',
    imageUrl: single('imageUrl'),
    blocks: byNumber(blocks).map((block) => ({ ...block, items: byNumber(block.items) })),
  };
}

const optional = (value: string | undefined) =>
  value === undefined || value.trim() === '' ? undefined : value;
const whole = (value: string | undefined) =>
  value === undefined || value.trim() === '' ? undefined : /^\d+$/.test(value.trim()) ? Number(value) : value;

/** A block draft as the domain's block schema reads it (which decides what is valid). */
function blockInput(block: BlockDraft): unknown {
  const f = block.fields;
  switch (block.type) {
    case 'heading':
      return { type: 'heading', text: f.text ?? '', level: Number(f.level ?? 2) };
    case 'paragraph':
      return { type: 'paragraph', text: f.text ?? '' };
    case 'image':
      return {
        type: 'image',
        url: f.url ?? '',
        alt: f.alt ?? '',
        width: whole(f.width),
        href: optional(f.href),
      };
    case 'button':
      return { type: 'button', label: f.label ?? '', url: f.url ?? '' };
    case 'divider':
      return { type: 'divider' };
    case 'links':
      return {
        type: 'links',
        heading: optional(f.heading),
        items: block.items.map((item) => ({
          title: item.title,
          summary: optional(item.summary),
          url: item.url,
        })),
      };
    default:
      return { type: block.type };
  }
}

export type EditionFormInput = z.input<typeof EditionInputSchema>;

/** The draft as the API's edition schema reads it. */
export function editionInputOf(draft: EditionDraft): EditionFormInput {
  return {
    title: draft.title,
    subject: draft.subject,
    preheader: draft.preheader,
    slug: draft.slug,
    locale: draft.locale as 'nl' | 'en',
    topics: draft.topics,
    organisationKinds: draft.organisationKinds as OrganisationKind[],
    openTracking: draft.openTracking,
    imageUrl: optional(draft.imageUrl) ?? null,
    blocks: draft.blocks.map(blockInput) as Block[],
  };
}

/** zod's generic messages for a number or a choice, replaced by ones that say what to type. */
export function explainBlockErrors(errors: FieldErrors): FieldErrors {
  const explained: FieldErrors = {};
  for (const [field, message] of Object.entries(errors)) {
    if (field.endsWith('.width'))
      explained[field] = 'Geef de breedte als heel getal tussen 40 en 600 (pixels).';
    else if (/^blocks\.\d+\.type$/.test(field)) explained[field] = 'Onbekend soort blok.';
    else explained[field] = message;
  }
  return explained;
}

export type EditorOp =
  | { kind: 'save' }
  | { kind: 'move'; block: number; by: -1 | 1 }
  | { kind: 'remove'; block: number }
  | { kind: 'add'; type: BlockType }
  | { kind: 'add-link'; block: number }
  | { kind: 'remove-link'; block: number; link: number };

/** The `op` value of the button that submitted the form (`up:3`, `add:image`, `remove-link:2:0`, …). */
export function parseOp(value: string | undefined): EditorOp | null {
  if (!value || value === 'save') return { kind: 'save' };
  const [name, a, b] = value.split(':');
  const n = Number(a);
  if (name === 'add' && a && isBlockType(a)) return { kind: 'add', type: a };
  if (!Number.isInteger(n) || n < 0) return null;
  if (name === 'up' || name === 'down') return { kind: 'move', block: n, by: name === 'up' ? -1 : 1 };
  if (name === 'remove') return { kind: 'remove', block: n };
  if (name === 'add-link') return { kind: 'add-link', block: n };
  const m = Number(b);
  if (name === 'remove-link' && Number.isInteger(m) && m >= 0)
    return { kind: 'remove-link', block: n, link: m };
  return null;
}

/**
 * Moves and removals change what is saved. Additions are not saved (an empty block is not valid
 * yet): the page after saving shows them, to be filled in and saved.
 */
export function applyOp(draft: EditionDraft, op: EditorOp): EditionDraft {
  const blocks = [...draft.blocks];
  if (op.kind === 'move') {
    const to = op.block + op.by;
    if (op.block < blocks.length && to >= 0 && to < blocks.length) {
      [blocks[op.block], blocks[to]] = [blocks[to]!, blocks[op.block]!];
    }
  }
  if (op.kind === 'remove') blocks.splice(op.block, 1);
  if (op.kind === 'remove-link' && blocks[op.block]) {
    const block = blocks[op.block]!;
    blocks[op.block] = { ...block, items: block.items.filter((_, index) => index !== op.link) };
  }
  return { ...draft, blocks };
}

/** Where to go after saving: the editor, with an addition to show and the place to jump to. */
export function afterSave(editionId: string, draft: EditionDraft, op: EditorOp): string {
  const base = `/admin/editions/${editionId}/edit`;
  if (op.kind === 'add') return `${base}?add=${op.type}#${blockAnchor(draft.blocks.length)}`;
  if (op.kind === 'add-link') return `${base}?add-link=${op.block}#${blockAnchor(op.block)}`;
  if (op.kind === 'move') return `${base}?ok=saved#${blockAnchor(Math.max(0, op.block + op.by))}`;
  return `${base}?ok=saved`;
}

/** The additions named in the editor's address (after "add block" or "add link"), shown unsaved. */
export function withAdditions(draft: EditionDraft, query: { add?: string; addLink?: string }): EditionDraft {
  const blocks = [...draft.blocks];
  if (query.add && isBlockType(query.add)) blocks.push(emptyBlock(query.add));
  const linkBlock = query.addLink !== undefined ? Number(query.addLink) : Number.NaN;
  const target = blocks[linkBlock];
  if (target?.type === 'links') blocks[linkBlock] = { ...target, items: [...target.items, emptyLink()] };
  return { ...draft, blocks };
}

export const blockAnchor = (index: number) => `blok-${index + 1}`;

/* ------------------------------------------------------------------------------------- views */

export function EditionFields(props: {
  draft: EditionDraft;
  errors: FieldErrors;
  topics: { value: string; label: string }[];
  creating?: boolean;
}) {
  const { draft, errors } = props;
  return (
    <>
      <Field name="title" label="Titel" value={draft.title} errors={errors} required />
      <Field
        name="subject"
        label="Onderwerpregel"
        value={draft.subject}
        errors={errors}
        required
        hint="Wat de lezer in de inbox ziet."
      />
      <Field
        name="preheader"
        label="Voorvertoningstekst (preheader)"
        value={draft.preheader}
        errors={errors}
        hint="Korte tekst die veel e-mailprogramma's naast de onderwerpregel tonen."
      />
      <Field
        name="slug"
        label="Korte naam in het webadres"
        value={draft.slug}
        errors={errors}
        required={!props.creating}
        hint={
          props.creating
            ? 'Bijvoorbeeld nieuwsbrief-maart-2026. Leeg laten: we maken er een van de titel.'
            : 'Kleine letters, cijfers en streepjes; de webversie staat op /nieuwsbrieven/<korte naam>.'
        }
      />
      <SelectField
        name="locale"
        label="Taal van de inhoud"
        value={draft.locale || 'nl'}
        options={[
          { value: 'nl', label: 'Nederlands' },
          { value: 'en', label: 'Engels' },
        ]}
        errors={errors}
      />
      <CheckboxGroup
        name="topics"
        legend="Onderwerpen (wie een van deze volgt, krijgt de editie)"
        options={props.topics}
        checked={draft.topics}
        errors={errors}
      />
      <CheckboxGroup
        name="organisationKinds"
        legend="Alleen voor abonnees van deze soorten organisaties (niets aangevinkt: iedereen)"
        options={Object.entries(KIND_LABELS).map(([value, label]) => ({ value, label }))}
        checked={draft.organisationKinds}
        errors={errors}
      />
      <Field
        name="imageUrl"
        label="Afbeelding voor de webversie en LinkedIn (optioneel)"
        type="url"
        value={draft.imageUrl}
        errors={errors}
        hint="Volledig webadres van een afbeelding, bijvoorbeeld https://…/omslag.jpg."
      />
      <CheckboxGroup
        name="openTracking"
        legend="Meten"
        options={[
          {
            value: 'on',
            label:
              'Openingen meten (staat standaard uit: een meetpixel is niet nodig om te weten of de editie aankwam)',
          },
        ]}
        checked={draft.openTracking ? ['on'] : []}
        errors={errors}
      />
    </>
  );
}

function OpButton(props: { op: string; label: string; variant?: 'secondary' | 'danger' }) {
  return (
    <button type="submit" name="op" value={props.op} class={props.variant ?? 'secondary'}>
      {props.label}
    </button>
  );
}

function BlockFields(props: { block: BlockDraft; index: number; errors: FieldErrors }) {
  const { block, index, errors } = props;
  const name = (field: string) => `blocks.${index}.${field}`;
  const value = (field: string) => block.fields[field] ?? '';
  switch (block.type) {
    case 'heading':
      return (
        <>
          <Field
            name={name('text')}
            label="Tekst van de kop"
            value={value('text')}
            errors={errors}
            required
          />
          <SelectField
            name={name('level')}
            label="Niveau"
            value={value('level') || '2'}
            options={[
              { value: '2', label: 'Kop (niveau 2)' },
              { value: '3', label: 'Tussenkop (niveau 3)' },
            ]}
            errors={errors}
          />
        </>
      );
    case 'paragraph':
      return (
        <Field
          name={name('text')}
          label="Tekst"
          value={value('text')}
          errors={errors}
          required
          multiline
          rows={6}
          hint="Opmaak: **vet**, *cursief* en [linktekst](https://…). Andere tekens verschijnen zoals u ze typt."
        />
      );
    case 'image':
      return (
        <>
          <Field
            name={name('url')}
            label="Webadres van de afbeelding"
            type="url"
            value={value('url')}
            errors={errors}
            required
          />
          <Field
            name={name('alt')}
            label="Beschrijving (alt-tekst)"
            value={value('alt')}
            errors={errors}
            required
            hint="Wat er te zien is, voor wie de afbeelding niet ziet."
          />
          <Field
            name={name('width')}
            label="Breedte in pixels"
            type="number"
            min="40"
            max="600"
            value={value('width')}
            errors={errors}
            hint="40 tot 600; leeg: de volle breedte van de e-mail."
          />
          <Field
            name={name('href')}
            label="Link bij de afbeelding (optioneel)"
            type="url"
            value={value('href')}
            errors={errors}
          />
        </>
      );
    case 'button':
      return (
        <>
          <Field
            name={name('label')}
            label="Tekst op de knop"
            value={value('label')}
            errors={errors}
            required
          />
          <Field
            name={name('url')}
            label="Webadres"
            type="url"
            value={value('url')}
            errors={errors}
            required
          />
        </>
      );
    case 'divider':
      return <p class="hint">Een horizontale lijn; dit blok heeft geen velden.</p>;
    case 'links':
      return (
        <>
          <Field
            name={name('heading')}
            label="Kop boven de lijst (optioneel)"
            value={value('heading')}
            errors={errors}
          />
          {errors[name('items')] ? (
            <p class="field-error" id={fieldId(name('items'))}>
              {errors[name('items')]}
            </p>
          ) : null}
          {block.items.map((item, n) => (
            <fieldset key={fieldId(name(`items.${n}`))} id={fieldId(name(`items.${n}`))}>
              <legend>
                Link {n + 1} van blok {index + 1}
              </legend>
              <Field
                name={name(`items.${n}.title`)}
                label="Titel"
                value={item.title}
                errors={errors}
                required
              />
              <Field
                name={name(`items.${n}.summary`)}
                label="Samenvatting (optioneel)"
                value={item.summary}
                errors={errors}
                multiline
                rows={2}
              />
              <Field
                name={name(`items.${n}.url`)}
                label="Webadres"
                type="url"
                value={item.url}
                errors={errors}
                required
              />
              <OpButton
                op={`remove-link:${index}:${n}`}
                label={`Link ${n + 1} verwijderen`}
                variant="danger"
              />
            </fieldset>
          ))}
          <OpButton op={`add-link:${index}`} label={`Link toevoegen aan blok ${index + 1}`} />
        </>
      );
    default:
      return <p class="field-error">Onbekend soort blok: {block.type}. Verwijder het.</p>;
  }
}

/** The content blocks, each a fieldset with its own move and remove buttons, then "add a block". */
export function BlockEditor(props: { blocks: BlockDraft[]; errors: FieldErrors }) {
  const count = props.blocks.length;
  return (
    <section aria-labelledby="inhoud-blokken">
      <h2 id="inhoud-blokken">Inhoud</h2>
      {count === 0 ? <p>Nog geen blokken. Voeg hieronder een kop, alinea of ander blok toe.</p> : null}
      {props.blocks.map((block, index) => {
        const label = isBlockType(block.type) ? BLOCK_LABELS[block.type] : block.type;
        const number = index + 1;
        return (
          <fieldset key={blockAnchor(index)} id={blockAnchor(index)} class="block">
            <legend>
              Blok {number} van {count}: {label}
            </legend>
            <input type="hidden" name={`blocks.${index}.type`} value={block.type} />
            <BlockFields block={block} index={index} errors={props.errors} />
            <div class="actions">
              {index > 0 ? <OpButton op={`up:${index}`} label={`Blok ${number} omhoog`} /> : null}
              {index < count - 1 ? <OpButton op={`down:${index}`} label={`Blok ${number} omlaag`} /> : null}
              <OpButton op={`remove:${index}`} label={`Blok ${number} verwijderen`} variant="danger" />
            </div>
          </fieldset>
        );
      })}
      <fieldset>
        <legend>Blok toevoegen (slaat eerst op)</legend>
        <div class="actions">
          {BLOCK_TYPES.map((type) => (
            <OpButton key={type} op={`add:${type}`} label={`${BLOCK_LABELS[type]} toevoegen`} />
          ))}
        </div>
      </fieldset>
    </section>
  );
}
