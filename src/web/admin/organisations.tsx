/** @jsxImportSource hono/jsx */
import { OrganisationInput } from '../../api/routes/organisations.js';
import type { OrganisationKind } from '../../db/schema.js';
import {
  createOrganisation,
  deleteOrganisation,
  getOrganisation,
  listOrganisations,
  ORGANISATION_KINDS,
  updateOrganisation,
} from '../../domain/organisations.js';
import { crudPages, single } from './crud.js';
import { Field, numberFormat, SelectField } from './ui.js';

export const ORGANISATION_KIND_LABELS: Record<OrganisationKind, string> = {
  gemeente: 'Gemeente',
  zorgaanbieder: 'Zorgaanbieder',
  woningcorporatie: 'Woningcorporatie',
  overig: 'Overig',
};

/** /admin/organisations: the member organisations partners belong to. */
export function organisationPages() {
  return crudPages({
    noun: { one: 'organisatie', many: 'Organisaties', article: 'de' },
    basePath: '/admin/organisations',
    auditKind: 'organisation',
    list: (c) => listOrganisations(c.var.deps.db),
    get: (c, id) => getOrganisation(c.var.deps.db, id),
    labelOf: (row) => row.name,
    columns: [
      { label: 'Naam', cell: (row) => row.name },
      { label: 'Soort', cell: (row) => ORGANISATION_KIND_LABELS[row.kind] },
      { label: 'Abonnees', cell: (row) => numberFormat.format(Number(row.subscriber_count)) },
    ],
    createSchema: OrganisationInput,
    updateSchema: OrganisationInput,
    valuesOf: (row) => ({ name: row.name, kind: row.kind }),
    fields: (state) => (
      <>
        <Field name="name" label="Naam" required value={single(state.values, 'name')} errors={state.errors} />
        <SelectField
          name="kind"
          label="Soort"
          required
          value={single(state.values, 'kind') || 'overig'}
          errors={state.errors}
          options={ORGANISATION_KINDS.map((kind) => ({ value: kind, label: ORGANISATION_KIND_LABELS[kind] }))}
        />
      </>
    ),
    create: (tx, input) => createOrganisation(tx, input),
    update: (tx, id, changes) => updateOrganisation(tx, id, changes),
    remove: (tx, id) => deleteOrganisation(tx, id),
    deleteNote: 'De leden blijven geabonneerd; ze horen alleen niet meer bij deze organisatie.',
  });
}
