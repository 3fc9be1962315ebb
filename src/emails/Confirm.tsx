import { Heading } from '@react-email/components';
import {
  ActionButton,
  type EmailFrameProps,
  Greeting,
  Paragraph,
  Shell,
  SignOff,
  styles,
  TopicList,
} from './_components/Shell.js';
import { emailStrings } from './strings.js';

export interface ConfirmProps extends EmailFrameProps {
  name: string | null;
  /** Topic names in the reader's language. */
  topics: string[];
  confirmUrl: string;
  validDays: number;
}

/** Double opt-in: the only email an address gets before it is confirmed. */
export default function Confirm(props: ConfirmProps) {
  const t = emailStrings(props.locale);
  return (
    <Shell {...props} preview={t.confirm.preview} why={t.confirm.why(props.programmeName)}>
      <Heading as="h1" style={styles.heading} className="tp-text">
        {t.confirm.heading}
      </Heading>
      <Greeting locale={props.locale} name={props.name} />
      <Paragraph>{t.confirm.intro(props.programmeName)}</Paragraph>
      <TopicList intro={t.confirm.topics} topics={props.topics} />
      <ActionButton locale={props.locale} href={props.confirmUrl} label={t.confirm.button} />
      <Paragraph>{t.confirm.expiry(props.validDays)}</Paragraph>
      <SignOff locale={props.locale} programmeName={props.programmeName} />
    </Shell>
  );
}

export const confirmSubject = (props: Pick<ConfirmProps, 'locale' | 'programmeName'>) =>
  emailStrings(props.locale).confirm.subject(props.programmeName);

Confirm.PreviewProps = {
  locale: 'nl',
  programmeName: 'Housing First Voorbeeldregio',
  postalAddress: 'Voorbeeldstraat 1, 1234 AB Voorbeeldstad',
  contactEmail: 'info@voorbeeld.test',
  name: 'Sam de Vries',
  topics: ['Nieuwsbrief', 'Artikelen'],
  confirmUrl: 'https://nieuwsbrief.voorbeeld.test/confirm/voorbeeld-token',
  validDays: 7,
} satisfies ConfirmProps;
