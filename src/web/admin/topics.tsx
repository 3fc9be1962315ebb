/** @jsxImportSource hono/jsx */
import { TopicInput } from '../../api/routes/topics.js';
import { createTopic, deleteTopic, getTopic, listTopics, updateTopic } from '../../domain/topics.js';
import { Checkbox, checkbox, crudPages, formPosition, single, yesNo } from './crud.js';
import { Field, numberFormat } from './ui.js';

const TopicForm = TopicInput.extend({ public: checkbox, position: formPosition });

/** /admin/topics: what people can subscribe to; a topic in use is archived rather than deleted. */
export function topicPages() {
  return crudPages({
    noun: { one: 'onderwerp', many: 'Onderwerpen', article: 'het' },
    basePath: '/admin/topics',
    auditKind: 'topic',
    list: (c) => listTopics(c.var.deps.db, { includeArchived: true }),
    get: (c, id) => getTopic(c.var.deps.db, id),
    labelOf: (topic) => topic.name_nl,
    intro: (
      <p>
        Een onderwerp waarop iemand geabonneerd is geweest kan niet worden verwijderd: archiveer het dan (bij
        Bewerken). Gearchiveerde onderwerpen verschijnen niet meer op het aanmeldformulier.
      </p>
    ),
    columns: [
      {
        label: 'Naam',
        cell: (topic) => (
          <>
            {topic.name_nl}
            {topic.archived_at ? <span class="badge"> Gearchiveerd</span> : null}
          </>
        ),
      },
      { label: 'Engelse naam', cell: (topic) => topic.name_en },
      { label: 'Korte naam', cell: (topic) => <code>{topic.slug}</code> },
      { label: 'Op het formulier', cell: (topic) => yesNo(topic.public) },
      {
        label: 'Actieve abonnees',
        cell: (topic) => numberFormat.format(Number(topic.active_subscribers ?? 0)),
      },
      { label: 'Volgorde', cell: (topic) => String(topic.position) },
    ],
    createSchema: TopicForm,
    updateSchema: TopicForm.extend({ archived: checkbox }),
    valuesOf: (topic) => ({
      slug: topic.slug,
      nameNl: topic.name_nl,
      nameEn: topic.name_en,
      descriptionNl: topic.description_nl,
      descriptionEn: topic.description_en,
      position: String(topic.position),
      ...(topic.public ? { public: 'true' } : {}),
      ...(topic.archived_at ? { archived: 'true' } : {}),
    }),
    fields: (state, item) => {
      const value = (name: string) => single(state.values, name);
      return (
        <>
          <Field
            name="nameNl"
            label="Naam (Nederlands)"
            required
            value={value('nameNl')}
            errors={state.errors}
          />
          <Field name="nameEn" label="Naam (Engels)" required value={value('nameEn')} errors={state.errors} />
          <Field
            name="slug"
            label="Korte naam"
            required
            hint="Kleine letters, cijfers en streepjes, bijvoorbeeld nieuwsbrief. Wordt gebruikt in links en bij importeren."
            value={value('slug')}
            errors={state.errors}
          />
          <Field
            name="descriptionNl"
            label="Beschrijving (Nederlands)"
            multiline
            rows={3}
            value={value('descriptionNl')}
            errors={state.errors}
          />
          <Field
            name="descriptionEn"
            label="Beschrijving (Engels)"
            multiline
            rows={3}
            value={value('descriptionEn')}
            errors={state.errors}
          />
          <Field
            name="position"
            label="Volgorde"
            type="number"
            min="0"
            hint="Lagere nummers staan eerder op het formulier."
            value={value('position')}
            errors={state.errors}
          />
          <Checkbox
            name="public"
            legend="Aanmeldformulier"
            label="Tonen op het openbare aanmeldformulier"
            state={state}
            // A new topic is offered on the form unless the editor says otherwise.
            checked={item || Object.keys(state.values).length > 0 ? undefined : true}
          />
          {item ? (
            <Checkbox
              name="archived"
              legend="Archief"
              label="Gearchiveerd: niet meer aan te kiezen"
              state={state}
            />
          ) : null}
        </>
      );
    },
    create: (tx, input) => createTopic(tx, input),
    update: (tx, id, changes) => updateTopic(tx, id, changes),
    remove: (tx, id) => deleteTopic(tx, id),
  });
}
