import { z } from '@hono/zod-openapi';
import {
  createOrganisation,
  deleteOrganisation,
  getOrganisation,
  listOrganisations,
  ORGANISATION_KINDS,
  updateOrganisation,
} from '../../domain/organisations.js';
import { resourceRoutes } from '../crud.js';

const KindSchema = z.enum(ORGANISATION_KINDS);
const OrganisationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: KindSchema,
    createdAt: z.string(),
    subscriberCount: z.number().int().optional(),
  })
  .openapi('Organisation');
export const OrganisationInput = z
  .object({ name: z.string().trim().min(1, 'Vul een naam in.').max(200), kind: KindSchema })
  .openapi('OrganisationInput');

const toJson = (row: {
  id: string;
  name: string;
  kind: z.infer<typeof KindSchema>;
  created_at: Date;
  subscriber_count?: string;
}) => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  createdAt: row.created_at.toISOString(),
  ...(row.subscriber_count !== undefined ? { subscriberCount: Number(row.subscriber_count) } : {}),
});

export function organisationRoutes() {
  return resourceRoutes({
    tag: 'organisations',
    entity: 'organisation',
    listKey: 'organisations',
    schema: OrganisationSchema,
    input: OrganisationInput,
    toJson,
    summaries: {
      list: 'Member organisations with their number of subscribers',
      create: 'Add a member organisation',
      get: 'One organisation',
      update: 'Rename an organisation or change its kind',
      remove: 'Remove an organisation (its members stay subscribed)',
    },
    list: listOrganisations,
    create: createOrganisation,
    get: getOrganisation,
    update: updateOrganisation,
    remove: deleteOrganisation,
  });
}
