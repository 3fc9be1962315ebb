import { Button, Heading, Hr, Img, Link, Section, Text } from '@react-email/components';
import type { ReactNode } from 'react';
import type { Locale } from '../db/schema.js';
import { type Block, type InlineSegment, parseInline } from '../domain/edition-content.js';
import { type EmailFrameProps, Shell, styles } from './_components/Shell.js';
import { emailStrings } from './strings.js';

/**
 * Markers the send pipeline replaces per recipient (see personalise.ts). The template is
 * rendered once per reader locale with these in place, never once per recipient.
 */
export const PLACEHOLDERS = {
  greeting: '__TP_GREETING__',
  preferencesUrl: 'https://personal.invalid/__TP_PREFERENCES_URL__',
  unsubscribeUrl: 'https://personal.invalid/__TP_UNSUBSCRIBE_URL__',
} as const;

export interface EditionProps extends EmailFrameProps {
  /** The language the edition is written in (the reader's locale drives the footer). */
  contentLocale: Locale;
  title: string;
  preheader: string;
  blocks: Block[];
  webVersionUrl: string;
  /** The topic the reader gets this for, named in the footer. */
  topicName: string | null;
  /** Shows the test banner (test sends only). */
  test?: boolean;
  /** Whether to greet the reader personally (the greeting text is filled in per recipient). */
  greeting?: boolean;
}

function Inline(props: { segments: InlineSegment[] }) {
  return (
    <>
      {props.segments.map((segment, index) => {
        let node: ReactNode = segment.text;
        if (segment.kind === 'link') {
          node = (
            <Link href={segment.url} style={styles.link} className="tp-link">
              {segment.text}
            </Link>
          );
        }
        if (segment.italic) node = <em>{node}</em>;
        if (segment.bold) node = <strong>{node}</strong>;
        // biome-ignore lint/suspicious/noArrayIndexKey: segments are a fixed, ordered parse of one string
        return <span key={index}>{node}</span>;
      })}
    </>
  );
}

function BlockView(props: { block: Block }) {
  const { block } = props;
  switch (block.type) {
    case 'heading':
      return (
        <Heading
          as={block.level === 3 ? 'h3' : 'h2'}
          style={{ ...styles.heading, fontSize: block.level === 3 ? '18px' : '21px' }}
          className="tp-text"
        >
          {block.text}
        </Heading>
      );
    case 'paragraph':
      return (
        <Text style={styles.text} className="tp-text">
          <Inline segments={parseInline(block.text)} />
        </Text>
      );
    case 'image': {
      const image = (
        <Img
          src={block.url}
          alt={block.alt}
          width={block.width ?? 560}
          style={{ maxWidth: '100%', height: 'auto', display: 'block', margin: '16px 0' }}
        />
      );
      return block.href ? <Link href={block.href}>{image}</Link> : image;
    }
    case 'button':
      return (
        <Section style={{ margin: '24px 0' }}>
          <Button href={block.url} style={styles.button} className="tp-button">
            {block.label}
          </Button>
        </Section>
      );
    case 'divider':
      return <Hr style={styles.hr} className="tp-hr" />;
    case 'links':
      return (
        <Section style={{ margin: '16px 0' }}>
          {block.heading ? (
            <Heading as="h2" style={{ ...styles.heading, fontSize: '21px' }} className="tp-text">
              {block.heading}
            </Heading>
          ) : null}
          {block.items.map((item) => (
            <Section key={item.url} style={{ margin: '12px 0' }}>
              <Text style={{ ...styles.text, margin: '0', fontWeight: 600 }} className="tp-text">
                <Link href={item.url} style={styles.link} className="tp-link">
                  {item.title}
                </Link>
              </Text>
              {item.summary ? (
                <Text style={{ ...styles.text, margin: '4px 0 0' }} className="tp-text">
                  {item.summary}
                </Text>
              ) : null}
            </Section>
          ))}
        </Section>
      );
  }
}

/** A newsletter edition: the editor's blocks inside the common frame with the personal footer. */
export default function Edition(props: EditionProps) {
  const t = emailStrings(props.locale).edition;
  return (
    <Shell
      {...props}
      preview={props.preheader || props.title}
      why={t.why(props.programmeName, props.topicName)}
    >
      {props.test ? (
        <Text
          style={{ ...styles.text, border: '2px solid #b00020', padding: '8px', fontWeight: 700 }}
          className="tp-text"
        >
          {t.testBanner}
        </Text>
      ) : null}
      <Text style={styles.muted} className="tp-muted">
        <Link href={props.webVersionUrl} style={styles.link} className="tp-link">
          {t.webVersion}
        </Link>
      </Text>
      <div lang={props.contentLocale}>
        <Heading as="h1" style={styles.heading} className="tp-text">
          {props.title}
        </Heading>
        {props.greeting ? (
          <Text style={styles.text} className="tp-text">
            {PLACEHOLDERS.greeting}
          </Text>
        ) : null}
        {props.blocks.map((block, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: blocks have no ids; their order is the identity
          <BlockView key={index} block={block} />
        ))}
      </div>
    </Shell>
  );
}

Edition.PreviewProps = {
  locale: 'nl',
  contentLocale: 'nl',
  programmeName: 'Housing First Voorbeeldregio',
  postalAddress: 'Voorbeeldstraat 1, 1234 AB Voorbeeldstad',
  contactEmail: 'info@voorbeeld.test',
  preferencesUrl: PLACEHOLDERS.preferencesUrl,
  unsubscribeUrl: PLACEHOLDERS.unsubscribeUrl,
  title: 'Nieuwsbrief maart 2026',
  preheader: 'Nieuwe woningen, een evaluatie en een uitnodiging',
  webVersionUrl: 'https://nieuwsbrief.voorbeeld.test/nieuwsbrieven/maart-2026',
  topicName: 'Nieuwsbrief',
  greeting: true,
  blocks: [
    { type: 'heading', level: 2, text: 'Tien nieuwe woningen in Voorbeeldstad' },
    {
      type: 'paragraph',
      text: 'Samen met **Woonstichting Voorbeeld** zijn tien woningen opgeleverd. Lees [het verslag](https://voorbeeld.test/verslag).',
    },
    {
      type: 'image',
      url: 'https://voorbeeld.test/woning.jpg',
      alt: 'Een rijtje nieuwe woningen met tuinen',
      width: 560,
    },
    { type: 'button', label: 'Lees de evaluatie', url: 'https://voorbeeld.test/evaluatie' },
    { type: 'divider' },
    {
      type: 'links',
      heading: 'Nieuwe documenten',
      items: [
        {
          title: 'Folder voor deelnemers',
          summary: 'Uitleg in eenvoudige taal.',
          url: 'https://voorbeeld.test/folder.pdf',
        },
      ],
    },
  ],
} satisfies EditionProps;
