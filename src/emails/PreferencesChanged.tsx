import { Heading } from '@react-email/components';
import {
  type EmailFrameProps,
  Greeting,
  Paragraph,
  Shell,
  SignOff,
  styles,
  TopicList,
} from './_components/Shell.js';
import { emailStrings } from './strings.js';

export interface PreferencesChangedProps extends EmailFrameProps {
  name: string | null;
  /** The topics after the change, in the reader's (possibly new) language. */
  topics: string[];
  preferencesUrl: string;
  unsubscribeUrl: string;
}

/** Confirms a change made in the preference centre (and tells the owner if it was not them). */
export default function PreferencesChanged(props: PreferencesChangedProps) {
  const t = emailStrings(props.locale);
  return (
    <Shell
      {...props}
      preview={t.preferencesChanged.preview}
      why={t.preferencesChanged.why(props.programmeName)}
    >
      <Heading as="h1" style={styles.heading} className="tp-text">
        {t.preferencesChanged.heading}
      </Heading>
      <Greeting locale={props.locale} name={props.name} />
      <Paragraph>{t.preferencesChanged.intro}</Paragraph>
      <TopicList intro={t.preferencesChanged.topics} topics={props.topics} />
      <Paragraph>{t.preferencesChanged.language}</Paragraph>
      <Paragraph>{t.preferencesChanged.notYou}</Paragraph>
      <SignOff locale={props.locale} programmeName={props.programmeName} />
    </Shell>
  );
}

export const preferencesChangedSubject = (props: Pick<PreferencesChangedProps, 'locale'>) =>
  emailStrings(props.locale).preferencesChanged.subject;

PreferencesChanged.PreviewProps = {
  locale: 'en',
  programmeName: 'Housing First Voorbeeldregio',
  postalAddress: 'Voorbeeldstraat 1, 1234 AB Voorbeeldstad',
  contactEmail: 'info@voorbeeld.test',
  name: 'Sam de Vries',
  topics: ['Newsletter', 'Documents and leaflets'],
  preferencesUrl: 'https://nieuwsbrief.voorbeeld.test/preferences/voorbeeld-token',
  unsubscribeUrl: 'https://nieuwsbrief.voorbeeld.test/unsubscribe/voorbeeld-token',
} satisfies PreferencesChangedProps;
