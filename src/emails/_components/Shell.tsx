import {
  Body,
  Button,
  Container,
  Head,
  Hr,
  Html,
  Img,
  Link,
  Preview,
  Section,
  Text,
} from '@react-email/components';
import type { ReactNode } from 'react';
import type { Locale } from '../../db/schema.js';
import { emailStrings } from '../strings.js';

/** What every subscriber email knows about its programme and reader (the footer's content). */
export interface EmailFrameProps {
  locale: Locale;
  programmeName: string;
  /** Postal address of the programme: required in the footer of every bulk email. */
  postalAddress: string;
  contactEmail?: string | null;
  /** Personal links; absent for a reader who is not (yet) on the list, e.g. the confirmation email. */
  preferencesUrl?: string | null;
  unsubscribeUrl?: string | null;
  /** Optional logo (https URL); shown with the programme's name as alt text. */
  logoUrl?: string | null;
}

// Light colours inline (every client), dark overrides in a media query (clients that support it).
// Contrast ≥ 4.5:1 in both: #1a1a1a on #ffffff, #0b5394 on #ffffff; #f0f0f0 on #161616, #8ab4f8 on #161616.
const darkCss = `
:root { color-scheme: light dark; supported-color-schemes: light dark; }
@media (prefers-color-scheme: dark) {
  .tp-body, .tp-container { background-color: #161616 !important; color: #f0f0f0 !important; }
  .tp-text { color: #f0f0f0 !important; }
  .tp-muted { color: #c8c8c8 !important; }
  .tp-link { color: #8ab4f8 !important; }
  .tp-button { background-color: #8ab4f8 !important; color: #161616 !important; }
  .tp-hr { border-color: #555555 !important; }
}
[data-ogsc] .tp-text { color: #f0f0f0 !important; }
[data-ogsc] .tp-link { color: #8ab4f8 !important; }
`;

export const styles = {
  // No inline background: React Email copies body styles onto an inner cell, where the dark-mode
  // class could not override it. Light clients show their default white, dark ones the class colour.
  body: { margin: 0, padding: 0 },
  container: {
    maxWidth: '600px',
    width: '100%',
    margin: '0 auto',
    padding: '16px',
    fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
  },
  heading: { fontSize: '24px', lineHeight: '1.3', margin: '16px 0', color: '#1a1a1a' },
  text: { fontSize: '16px', lineHeight: '1.5', margin: '12px 0', color: '#1a1a1a' },
  muted: { fontSize: '14px', lineHeight: '1.5', margin: '8px 0', color: '#4a4a4a' },
  link: { color: '#0b5394', textDecoration: 'underline', wordBreak: 'break-all' as const },
  button: {
    backgroundColor: '#0b5394',
    color: '#ffffff',
    borderRadius: '4px',
    fontSize: '16px',
    fontWeight: 600,
    padding: '12px 20px',
    textDecoration: 'none',
    display: 'inline-block',
    maxWidth: '100%',
  },
  hr: { borderColor: '#c8c8c8', margin: '24px 0' },
} as const;

export function Shell(props: EmailFrameProps & { preview: string; why: string; children: ReactNode }) {
  const t = emailStrings(props.locale);
  return (
    <Html lang={props.locale} dir="ltr">
      <Head>
        <meta name="color-scheme" content="light dark" />
        <meta name="supported-color-schemes" content="light dark" />
        <style>{darkCss}</style>
      </Head>
      <Preview>{props.preview}</Preview>
      <Body style={styles.body} className="tp-body">
        <Container style={styles.container} className="tp-container">
          {props.logoUrl ? (
            <Img
              src={props.logoUrl}
              alt={props.programmeName}
              height="48"
              style={{ maxWidth: '100%', height: 'auto' }}
            />
          ) : (
            <Text style={{ ...styles.text, fontWeight: 700 }} className="tp-text">
              {props.programmeName}
            </Text>
          )}
          {props.children}
          <Hr style={styles.hr} className="tp-hr" />
          <Section>
            <Text style={styles.muted} className="tp-muted">
              {props.why}
            </Text>
            {props.preferencesUrl || props.unsubscribeUrl ? (
              <Text style={styles.muted} className="tp-muted">
                {props.preferencesUrl ? (
                  <Link href={props.preferencesUrl} style={styles.link} className="tp-link">
                    {t.footer.preferences}
                  </Link>
                ) : null}
                {props.preferencesUrl && props.unsubscribeUrl ? ' · ' : null}
                {props.unsubscribeUrl ? (
                  <Link href={props.unsubscribeUrl} style={styles.link} className="tp-link">
                    {t.footer.unsubscribe}
                  </Link>
                ) : null}
              </Text>
            ) : null}
            <Text style={styles.muted} className="tp-muted">
              {props.programmeName}
              <br />
              {t.footer.addressLabel}: {props.postalAddress}
              {props.contactEmail ? (
                <>
                  <br />
                  {t.footer.contact(props.contactEmail)}
                </>
              ) : null}
            </Text>
          </Section>
        </Container>
      </Body>
    </Html>
  );
}

export function Greeting(props: { locale: Locale; name: string | null }) {
  return (
    <Text style={styles.text} className="tp-text">
      {emailStrings(props.locale).greeting(props.name)}
    </Text>
  );
}

export function Paragraph(props: { children: ReactNode }) {
  return (
    <Text style={styles.text} className="tp-text">
      {props.children}
    </Text>
  );
}

export function TopicList(props: { intro: string; topics: string[] }) {
  if (props.topics.length === 0) return null;
  return (
    <>
      <Text style={{ ...styles.text, marginBottom: 0 }} className="tp-text">
        {props.intro}
      </Text>
      <ul style={{ ...styles.text, marginTop: '4px', paddingLeft: '24px' }} className="tp-text">
        {props.topics.map((topic) => (
          <li key={topic}>{topic}</li>
        ))}
      </ul>
    </>
  );
}

export function SignOff(props: { locale: Locale; programmeName: string }) {
  const [first, second] = emailStrings(props.locale).signOff(props.programmeName).split('\n');
  return (
    <Text style={styles.text} className="tp-text">
      {first}
      <br />
      {second}
    </Text>
  );
}

/** A prominent button with the same link written out below, for clients that hide buttons. */
export function ActionButton(props: { locale: Locale; href: string; label: string }) {
  return (
    <Section style={{ margin: '24px 0' }}>
      <Button href={props.href} style={styles.button} className="tp-button">
        {props.label}
      </Button>
      {/* Skipped in the plain-text version, where the button already shows its URL. */}
      <Text style={styles.muted} className="tp-muted" data-skip-in-text="true">
        {emailStrings(props.locale).linkFallback}{' '}
        <Link href={props.href} style={styles.link} className="tp-link">
          {props.href}
        </Link>
      </Text>
    </Section>
  );
}
