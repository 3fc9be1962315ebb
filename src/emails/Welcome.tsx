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

export interface WelcomeProps extends EmailFrameProps {
  name: string | null;
  topics: string[];
  preferencesUrl: string;
  unsubscribeUrl: string;
}

/** Sent once the address is confirmed. */
export default function Welcome(props: WelcomeProps) {
  const t = emailStrings(props.locale);
  return (
    <Shell {...props} preview={t.welcome.preview} why={t.welcome.why(props.programmeName)}>
      <Heading as="h1" style={styles.heading} className="tp-text">
        {t.welcome.heading}
      </Heading>
      <Greeting locale={props.locale} name={props.name} />
      <Paragraph>{t.welcome.intro(props.programmeName)}</Paragraph>
      <TopicList intro={t.welcome.topics} topics={props.topics} />
      <Paragraph>{t.welcome.manage}</Paragraph>
      <SignOff locale={props.locale} programmeName={props.programmeName} />
    </Shell>
  );
}

export const welcomeSubject = (props: Pick<WelcomeProps, 'locale' | 'programmeName'>) =>
  emailStrings(props.locale).welcome.subject(props.programmeName);

Welcome.PreviewProps = {
  locale: 'nl',
  programmeName: 'Housing First Voorbeeldregio',
  postalAddress: 'Voorbeeldstraat 1, 1234 AB Voorbeeldstad',
  contactEmail: 'info@voorbeeld.test',
  name: 'Sam de Vries',
  topics: ['Nieuwsbrief', 'Artikelen'],
  preferencesUrl: 'https://nieuwsbrief.voorbeeld.test/preferences/voorbeeld-token',
  unsubscribeUrl: 'https://nieuwsbrief.voorbeeld.test/unsubscribe/voorbeeld-token',
} satisfies WelcomeProps;
