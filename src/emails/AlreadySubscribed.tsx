import { Heading } from '@react-email/components';
import {
  ActionButton,
  type EmailFrameProps,
  Greeting,
  Paragraph,
  Shell,
  SignOff,
  styles,
} from './_components/Shell.js';
import { emailStrings } from './strings.js';

export interface AlreadySubscribedProps extends EmailFrameProps {
  name: string | null;
  preferencesUrl: string;
  unsubscribeUrl: string;
}

/** Sent instead of a confirmation when an active address signs up again (the page says the same either way). */
export default function AlreadySubscribed(props: AlreadySubscribedProps) {
  const t = emailStrings(props.locale);
  return (
    <Shell
      {...props}
      preview={t.alreadySubscribed.preview}
      why={t.alreadySubscribed.why(props.programmeName)}
    >
      <Heading as="h1" style={styles.heading} className="tp-text">
        {t.alreadySubscribed.heading}
      </Heading>
      <Greeting locale={props.locale} name={props.name} />
      <Paragraph>{t.alreadySubscribed.intro(props.programmeName)}</Paragraph>
      <Paragraph>{t.alreadySubscribed.manage}</Paragraph>
      <ActionButton locale={props.locale} href={props.preferencesUrl} label={t.footer.preferences} />
      <SignOff locale={props.locale} programmeName={props.programmeName} />
    </Shell>
  );
}

export const alreadySubscribedSubject = (props: Pick<AlreadySubscribedProps, 'locale' | 'programmeName'>) =>
  emailStrings(props.locale).alreadySubscribed.subject(props.programmeName);

AlreadySubscribed.PreviewProps = {
  locale: 'nl',
  programmeName: 'Housing First Voorbeeldregio',
  postalAddress: 'Voorbeeldstraat 1, 1234 AB Voorbeeldstad',
  contactEmail: 'info@voorbeeld.test',
  name: null,
  preferencesUrl: 'https://nieuwsbrief.voorbeeld.test/preferences/voorbeeld-token',
  unsubscribeUrl: 'https://nieuwsbrief.voorbeeld.test/unsubscribe/voorbeeld-token',
} satisfies AlreadySubscribedProps;
