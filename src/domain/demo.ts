import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { Locale, OrganisationKind, SubscriberStatus } from '../db/schema.js';
import { currentConsentText } from './consent.js';
import { createFileDocument, createLinkDocument } from './documents.js';
import type { Block } from './edition-content.js';

/**
 * Demo content for a new installation (`npm run demo`): a fictitious "Housing First" programme
 * with settings, organisations of every kind, topics, sent editions over two years, documents in
 * every category (links and one generated PDF) and about fifty subscribers with consent events.
 * Every name, place and address is invented; addresses are @voorbeeld.test. Nothing is mailed or
 * posted: rows are written directly, without outbox entries.
 */

export class DemoRefused extends Error {
  constructor(
    readonly editions: number,
    readonly subscribers: number,
  ) {
    super(
      `This installation already has content (${editions} edition(s), ${subscribers} subscriber(s)); ` +
        'the demo only fills an empty one. Run it with --force to add the demo content anyway.',
    );
    this.name = 'DemoRefused';
  }
}

export interface DemoSummary {
  settings: number;
  organisations: number;
  topics: number;
  editions: number;
  documents: number;
  subscribers: number;
}

/* ----------------------------------------------------------------------------------------- PDF */

function pdfString(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const latin1 = code === 0x2019 ? 0x27 : code === 0x2013 || code === 0x2014 ? 0x2d : code;
    const safe = latin1 < 0x20 || latin1 > 0xff ? 0x3f : latin1;
    const c = String.fromCharCode(safe);
    out += c === '\\' || c === '(' || c === ')' ? `\\${c}` : c;
  }
  return `(${out})`;
}

/**
 * A small, valid one-page PDF (Helvetica, WinAnsi text) with a title, language and lines of text:
 * enough for the demo's leaflet and for tests of the upload check.
 */
export function minimalPdf(options: { title: string; lines: string[]; lang?: string }): Buffer {
  const content = [
    'BT',
    '/F1 18 Tf',
    '72 770 Td',
    `${pdfString(options.title)} Tj`,
    '/F1 11 Tf',
    '16 TL',
    'T* T*',
    ...options.lines.map((line) => `${pdfString(line)} Tj T*`),
    'ET',
  ].join('\n');
  const objects = [
    `<< /Type /Catalog /Pages 2 0 R /Lang ${pdfString(options.lang ?? 'nl-NL')} /ViewerPreferences << /DisplayDocTitle true >> >>`,
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
    `<< /Title ${pdfString(options.title)} /Producer (Thuispost) >>`,
  ];
  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info ${objects.length} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/* ------------------------------------------------------------------------------------- content */

const SETTINGS: Record<string, unknown> = {
  programmeName: 'Housing First Regio Voorbeeld',
  programmeDescription:
    'Housing First Regio Voorbeeld is een living lab van gemeenten, zorgaanbieders en woningcorporaties. Mensen die lang dakloos waren krijgen eerst een eigen woning, en daarna de begeleiding die zij zelf kiezen. Hier delen we wat we leren.',
  programmeDescriptionEn:
    'Housing First Regio Voorbeeld is a living lab of municipalities, care providers and housing associations. People who were homeless for a long time first get a home of their own, then the support they choose. Here we share what we learn.',
  postalAddress: 'Voorbeeldplein 12, 1234 AB Voorbeeldstad',
  contactEmail: 'housingfirst@voorbeeld.test',
};

const ORGANISATIONS: { name: string; kind: OrganisationKind }[] = [
  { name: 'Gemeente Voorbeeldstad', kind: 'gemeente' },
  { name: 'Gemeente Proefdorp', kind: 'gemeente' },
  { name: 'Stichting Thuis Voorbeeld', kind: 'zorgaanbieder' },
  { name: 'Zorggroep De Proefhoeve', kind: 'zorgaanbieder' },
  { name: 'Woonstichting Voorbeeldwonen', kind: 'woningcorporatie' },
  { name: 'Kennisplatform Wonen Voorbeeld', kind: 'overig' },
];

const EXTRA_TOPICS = [
  {
    slug: 'bijeenkomsten',
    name_nl: 'Bijeenkomsten',
    name_en: 'Meetings',
    description_nl: 'Uitnodigingen voor bijeenkomsten en werkplaatsen.',
    description_en: 'Invitations to meetings and workshops.',
    position: 4,
  },
];

const MONTHS_NL = [
  'januari',
  'februari',
  'maart',
  'april',
  'mei',
  'juni',
  'juli',
  'augustus',
  'september',
  'oktober',
  'november',
  'december',
];

const DAY = 24 * 3600 * 1000;

interface DemoEdition {
  daysAgo: number;
  preheader: string;
  blocks: (base: string) => Block[];
}

const EDITIONS: DemoEdition[] = [
  {
    daysAgo: 400,
    preheader: 'De eerste huurders hebben de sleutel, en we zoeken nog partners.',
    blocks: () => [
      { type: 'heading', level: 2, text: 'Welkom bij het living lab' },
      {
        type: 'paragraph',
        text: 'Dit is de eerste nieuwsbrief van **Housing First Regio Voorbeeld**. Vier gemeenten, twee zorgaanbieders en een woningcorporatie werken samen aan één doel: iedereen een eigen thuis.',
      },
      { type: 'heading', level: 3, text: 'De eerste sleutels' },
      {
        type: 'paragraph',
        text: 'In Voorbeeldstad kregen de eerste drie huurders hun sleutel. *Een eigen voordeur maakt alles anders*, vertelde een van hen.',
      },
      {
        type: 'button',
        label: 'Lees meer over Housing First',
        url: 'https://www.voorbeeld.test/housing-first',
      },
    ],
  },
  {
    daysAgo: 310,
    preheader: 'Wat werkt bij het vinden van woningen? Een verslag van de werkplaats.',
    blocks: () => [
      { type: 'heading', level: 2, text: 'Werkplaats woningtoewijzing' },
      {
        type: 'paragraph',
        text: 'Dertig collega’s van gemeenten en corporaties bespraken hoe woningen sneller beschikbaar komen. Lees [het verslag](https://www.voorbeeld.test/verslag-werkplaats).',
      },
      { type: 'divider' },
      {
        type: 'links',
        heading: 'Om verder te lezen',
        items: [
          {
            title: 'Tien lessen uit het eerste jaar',
            summary: 'Wat we leerden van huurders en begeleiders.',
            url: 'https://www.voorbeeld.test/tien-lessen',
          },
        ],
      },
    ],
  },
  {
    daysAgo: 130,
    preheader: 'De tussenevaluatie is klaar: 85% woont na een jaar nog steeds in de eigen woning.',
    blocks: () => [
      { type: 'heading', level: 2, text: 'Tussenevaluatie verschenen' },
      {
        type: 'paragraph',
        text: 'Onderzoekers van het **Kennisplatform Wonen Voorbeeld** volgden 40 huurders. Van hen woont 85% na een jaar nog in de eigen woning.',
      },
      { type: 'button', label: 'Naar de documenten', url: 'https://www.voorbeeld.test/documenten' },
    ],
  },
  {
    daysAgo: 21,
    preheader: 'Nieuwe woningen in Proefdorp, een folder in eenvoudige taal en een uitnodiging.',
    blocks: (base) => [
      { type: 'heading', level: 2, text: 'Zes nieuwe woningen in Proefdorp' },
      {
        type: 'paragraph',
        text: 'Samen met **Woonstichting Voorbeeldwonen** zijn zes woningen beschikbaar gekomen voor het programma.',
      },
      { type: 'heading', level: 2, text: 'Folder voor deelnemers' },
      {
        type: 'paragraph',
        text: `Er is een nieuwe folder in eenvoudige taal. Je vindt hem bij de [documenten](${base}/documenten).`,
      },
      { type: 'heading', level: 2, text: 'Uitnodiging regiobijeenkomst' },
      {
        type: 'paragraph',
        text: 'Op de regiobijeenkomst delen huurders en begeleiders hun ervaringen. Iedereen is welkom; aanmelden kan via [de website](https://www.voorbeeld.test/bijeenkomst).',
      },
    ],
  },
];

/** Invented names: no real person is meant. */
const FIRST_NAMES = ['Anouk', 'Bram', 'Chantal', 'Daan', 'Esra', 'Floor', 'Gijs', 'Hanna', 'Iris', 'Joris'];
const LAST_NAMES = ['Voorbeeldhof', 'Proefstra', 'Testerveld', 'Demoweg', 'Lindeproef'];

function addressOf(first: string, last: string, n: number): string {
  const local = `${first}.${last}.${n}`.toLowerCase().replace(/[^a-z0-9.]/g, '');
  return `${local}@voorbeeld.test`;
}

/** Counts what could make the demo clash with real content. */
export async function existingContent(db: DbOrTx): Promise<{ editions: number; subscribers: number }> {
  const [editions, subscribers] = await Promise.all([
    db
      .selectFrom('editions')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('subscribers')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { editions: Number(editions.n), subscribers: Number(subscribers.n) };
}

/**
 * Fills an empty installation with the demo programme, in one transaction. Refuses (DemoRefused)
 * when editions or subscribers exist, unless `force`; with `force` it adds only what is missing
 * (settings already set, slugs, addresses and titles already present are left alone).
 */
export async function seedDemo(
  db: import('../db/connection.js').Db,
  options: { now: Date; publicBaseUrl: string; force?: boolean },
): Promise<DemoSummary> {
  const base = options.publicBaseUrl.replace(/\/+$/, '');
  const now = options.now;
  return db.transaction().execute(async (tx) => {
    // One demo at a time (two runs at once would both find the database empty).
    await sql`select pg_advisory_xact_lock(hashtext('thuispost-demo'))`.execute(tx);
    const existing = await existingContent(tx);
    if (!options.force && (existing.editions > 0 || existing.subscribers > 0)) {
      throw new DemoRefused(existing.editions, existing.subscribers);
    }
    const summary: DemoSummary = {
      settings: 0,
      organisations: 0,
      topics: 0,
      editions: 0,
      documents: 0,
      subscribers: 0,
    };

    for (const [key, value] of Object.entries(SETTINGS)) {
      const inserted = await tx
        .insertInto('settings')
        .values({ key, value: JSON.stringify(value) })
        .onConflict((oc) => oc.column('key').doNothing())
        .returning('key')
        .executeTakeFirst();
      if (inserted) summary.settings++;
    }

    for (const organisation of ORGANISATIONS) {
      const inserted = await tx
        .insertInto('organisations')
        .values(organisation)
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) summary.organisations++;
    }
    const organisations = await tx.selectFrom('organisations').select(['id', 'name']).execute();
    const organisationId = (name: string) => organisations.find((o) => o.name === name)?.id ?? null;

    for (const topic of EXTRA_TOPICS) {
      const inserted = await tx
        .insertInto('topics')
        .values(topic)
        .onConflict((oc) => oc.column('slug').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) summary.topics++;
    }
    const topics = await tx
      .selectFrom('topics')
      .select(['id', 'slug'])
      .where('archived_at', 'is', null)
      .execute();
    const topicId = (slug: string) => topics.find((t) => t.slug === slug)?.id;

    // Sent editions over at least two calendar years, oldest first, plus one draft that stays off the site.
    const editionSlugs: string[] = [];
    for (const demo of EDITIONS) {
      const sentAt = new Date(now.getTime() - demo.daysAgo * DAY);
      sentAt.setUTCHours(8, 0, 0, 0);
      const month = MONTHS_NL[sentAt.getUTCMonth()]!;
      const year = sentAt.getUTCFullYear();
      const slug = `nieuwsbrief-${month}-${year}`;
      const inserted = await tx
        .insertInto('editions')
        .values({
          title: `Nieuwsbrief ${month} ${year}`,
          subject: `Housing First Regio Voorbeeld – ${month} ${year}`,
          preheader: demo.preheader,
          slug,
          locale: 'nl',
          blocks: JSON.stringify(demo.blocks(base)),
          status: 'sent',
          approved_at: new Date(sentAt.getTime() - DAY),
          send_at: sentAt,
          sending_started_at: sentAt,
          sent_at: sentAt,
          created_at: new Date(sentAt.getTime() - 7 * DAY),
          updated_at: sentAt,
        })
        .onConflict((oc) => oc.column('slug').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) continue;
      editionSlugs.push(slug);
      summary.editions++;
      const newsletter = topicId('nieuwsbrief');
      if (newsletter) {
        await tx
          .insertInto('edition_topics')
          .values({ edition_id: inserted.id, topic_id: newsletter })
          .execute();
      }
      await tx
        .insertInto('edition_events')
        .values([
          { edition_id: inserted.id, from_status: null, to_status: 'draft', note: 'demo', at: sentAt },
          { edition_id: inserted.id, from_status: 'sending', to_status: 'sent', note: 'demo', at: sentAt },
        ])
        .execute();
    }
    const draft = await tx
      .insertInto('editions')
      .values({
        title: 'Nieuwsbrief (concept)',
        subject: 'Housing First Regio Voorbeeld – concept',
        preheader: 'Een concept: dit staat niet op de site tot het is verstuurd.',
        slug: 'nieuwsbrief-concept',
        blocks: JSON.stringify([{ type: 'paragraph', text: 'Nog in bewerking.' }]),
      })
      .onConflict((oc) => oc.column('slug').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (draft) {
      const newsletter = topicId('nieuwsbrief');
      if (newsletter)
        await tx
          .insertInto('edition_topics')
          .values({ edition_id: draft.id, topic_id: newsletter })
          .execute();
    }

    // Documents in every category: links, and one small generated PDF.
    const day = (daysAgo: number) => new Date(now.getTime() - daysAgo * DAY).toISOString().slice(0, 10);
    const titles = new Set(
      (await tx.selectFrom('documents').select('title').execute()).map((row) => row.title),
    );
    const links = [
      {
        category: 'algemeen',
        title: 'Wat is Housing First?',
        summary: 'De uitgangspunten van Housing First in het kort.',
        url: 'https://www.voorbeeld.test/wat-is-housing-first',
        date: day(380),
      },
      {
        category: 'algemeen',
        title: 'Samenwerkingsafspraken Regio Voorbeeld',
        summary: 'Wie doet wat: de afspraken tussen gemeenten, zorgaanbieders en corporaties.',
        url: 'https://www.voorbeeld.test/samenwerkingsafspraken',
        date: day(360),
      },
      {
        category: 'artikelen',
        title: 'Eerst een thuis, dan de rest',
        summary: 'Een huurder en een begeleider over het eerste jaar.',
        url: 'https://www.voorbeeld.test/artikelen/eerst-een-thuis',
        date: day(200),
      },
      {
        category: 'artikelen',
        title: 'Tussenevaluatie: 85% woont na een jaar nog zelfstandig',
        summary: 'De belangrijkste uitkomsten van de tussenevaluatie.',
        url: 'https://www.voorbeeld.test/artikelen/tussenevaluatie',
        date: day(130),
      },
      {
        category: 'folders',
        title: 'Folder voor verwijzers',
        summary: 'Voor wie iemand wil aanmelden: wie kan meedoen en hoe werkt het?',
        url: 'https://www.voorbeeld.test/folders/verwijzers',
        date: day(90),
      },
      ...editionSlugs.slice(-2).map((slug, index) => ({
        category: 'nieuwsbrieven',
        title: `Nieuwsbrief ${slug.replace(/^nieuwsbrief-/, '').replace('-', ' ')}`,
        summary: 'De webversie van deze nieuwsbrief.',
        url: `${base}/nieuwsbrieven/${slug}`,
        date: day(index === 0 ? 130 : 21),
      })),
    ];
    for (const link of links) {
      if (titles.has(link.title)) continue;
      await createLinkDocument(tx, null, now, { ...link, published: true });
      summary.documents++;
    }
    const leafletTitle = 'Folder voor deelnemers (eenvoudige taal)';
    if (!titles.has(leafletTitle)) {
      await createFileDocument(
        tx,
        null,
        now,
        {
          category: 'folders',
          title: leafletTitle,
          summary: 'Wat is Housing First en wat kun je verwachten? Uitgelegd in eenvoudige taal.',
          date: day(21),
          published: true,
        },
        {
          bytes: minimalPdf({
            title: 'Housing First Regio Voorbeeld',
            lines: [
              'Folder voor deelnemers (voorbeeld).',
              '',
              'Housing First betekent: eerst een eigen huis.',
              'Daarna krijg je hulp. Jij kiest welke hulp.',
              'Je huurt de woning zelf, net als iedereen.',
              '',
              'Vragen? Mail naar housingfirst@voorbeeld.test.',
              'Voorbeeldplein 12, 1234 AB Voorbeeldstad.',
            ],
          }),
          filename: 'folder-deelnemers.pdf',
        },
      );
      summary.documents++;
    }

    // About fifty subscribers with consent evidence; a few pending, a few who left.
    const consent = await currentConsentText(tx);
    const kinds = ORGANISATIONS.map((o) => o.name);
    let n = 0;
    for (const first of FIRST_NAMES) {
      for (const last of LAST_NAMES) {
        n++;
        const status: SubscriberStatus = n % 17 === 0 ? 'unsubscribed' : n % 11 === 0 ? 'pending' : 'active';
        const locale: Locale = n % 5 === 0 ? 'en' : 'nl';
        const createdAt = new Date(now.getTime() - (420 - n * 7) * DAY);
        const confirmedAt = status === 'pending' ? null : new Date(createdAt.getTime() + 3600 * 1000);
        const partner = n % 3 === 0;
        const inserted = await tx
          .insertInto('subscribers')
          .values({
            email: addressOf(first, last, n),
            name: `${first} ${last}`,
            locale,
            status,
            source: partner ? 'editor' : 'form',
            organisation_id: partner ? organisationId(kinds[n % kinds.length]!) : null,
            created_at: createdAt,
            updated_at: createdAt,
            confirmed_at: confirmedAt,
            unsubscribed_at: status === 'unsubscribed' ? new Date(now.getTime() - 30 * DAY) : null,
          })
          .onConflict((oc) => oc.doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) continue;
        summary.subscribers++;
        const wanted = [
          'nieuwsbrief',
          ...(n % 2 === 0 ? ['artikelen'] : []),
          ...(n % 4 === 0 ? ['documenten'] : []),
        ];
        if (status !== 'unsubscribed') {
          const ids = wanted.map(topicId).filter((id): id is string => id !== undefined);
          if (ids.length > 0) {
            await tx
              .insertInto('subscriptions')
              .values(
                ids.map((topic_id) => ({ subscriber_id: inserted.id, topic_id, created_at: createdAt })),
              )
              .execute();
          }
        }
        const source = partner ? 'demo: added by an editor' : `${base}/subscribe`;
        const events: {
          subscriber_id: string;
          kind: 'given' | 'confirmed' | 'withdrawn';
          consent_version: string | null;
          source: string;
          details: string;
          at: Date;
        }[] = [
          {
            subscriber_id: inserted.id,
            kind: 'given',
            consent_version: consent.version,
            source,
            details: JSON.stringify({ topics: wanted, demo: true }),
            at: createdAt,
          },
        ];
        if (confirmedAt) {
          events.push({
            subscriber_id: inserted.id,
            kind: 'confirmed',
            consent_version: consent.version,
            source,
            details: JSON.stringify({ demo: true }),
            at: confirmedAt,
          });
        }
        if (status === 'unsubscribed') {
          events.push({
            subscriber_id: inserted.id,
            kind: 'withdrawn',
            consent_version: null,
            source: `${base}/unsubscribe`,
            details: JSON.stringify({ everything: true, demo: true }),
            at: new Date(now.getTime() - 30 * DAY),
          });
        }
        await tx.insertInto('consent_events').values(events).execute();
      }
    }
    return summary;
  });
}
