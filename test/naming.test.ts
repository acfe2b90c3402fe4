import { describe, expect, it } from 'vitest';
import { assignToolNames, MAX_TOOL_NAME, pathName, pathWords, withCounter } from '../generator/naming.ts';

type Op = { method: string; path: string; operationId: string };
const get = (path: string, operationId: string): Op => ({ method: 'GET', path, operationId });
const namesOf = (ops: Op[], taken?: Set<string>) => {
  const names = assignToolNames('msgraph', ops, taken);
  return ops.map((o) => names.get(`${o.method} ${o.path}`)!);
};

// Operations exactly as Microsoft Graph v1.0 has them (../shared/openapi/msgraph-v1.0.json).
const castOwners = [
  get('/applications/{application-id}/owners/microsoft.graph.appRoleAssignment', 'Get.microsoft.graph.directoryObject.Items.As.microsoft.graph.appRoleAssignment-9cf8'),
  get('/applications/{application-id}/owners/microsoft.graph.user', 'Get.microsoft.graph.directoryObject.Items.As.microsoft.graph.user-9410'),
  get('/contacts/{orgContact-id}/directReports/microsoft.graph.orgContact', 'Get.microsoft.graph.directoryObject.Items.As.microsoft.graph.orgContact-c38d'),
  get('/applications/{application-id}/owners/{directoryObject-id}/microsoft.graph.user', 'Get.microsoft.graph.directoryObject.Item.As.microsoft.graph.user-9410'),
];
const messages = [
  get('/users/{user-id}/messages', 'users.ListMessages'),
  get('/groups/{group-id}/threads/{conversationThread-id}/posts', 'groups.threads.ListPosts'),
];

describe('tool names for bulk-selected operations', () => {
  it('keeps the operationId name when it is short and unique (the launch specs keep their names)', () => {
    expect(namesOf(messages)).toEqual(['msgraph_users_list_messages', 'msgraph_groups_threads_list_posts']);
  });

  it('names the 159 cast operations that shared one 64-character stem from their paths, not by counter', () => {
    const names = namesOf(castOwners);
    expect(names).toEqual([
      'msgraph_list_applications_owners_app_role_assignment',
      'msgraph_list_applications_owners_user',
      'msgraph_list_contacts_direct_reports_org_contact',
      // The record behind the cast: one directory object, so `get`.
      'msgraph_get_applications_owners_user',
    ]);
  });

  it('names operationIds that differ only by a trailing hash from their paths', () => {
    const names = namesOf([
      get('/groups/{group-id}/members/$count', 'Get.Count.members-9627'),
      get('/directoryRoles/{directoryRole-id}/members/$count', 'Get.Count.members-5361'),
    ]);
    expect(names).toEqual(['msgraph_count_groups_members', 'msgraph_count_directory_roles_members']);
  });

  it('keeps the words that tell long namesakes apart when a name must be cut', () => {
    const ops = [
      get('/deviceAppManagement/defaultManagedAppProtections/{defaultManagedAppProtection-id}/apps', 'x.a'),
      get('/deviceAppManagement/iosManagedAppProtections/{iosManagedAppProtection-id}/apps', 'x.a'),
      get('/deviceAppManagement/targetedManagedAppConfigurations/{targetedManagedAppConfiguration-id}/apps', 'x.a'),
    ];
    const names = namesOf(ops);
    expect(names).toEqual([
      'msgraph_list_default_managed_app_protections_apps',
      'msgraph_list_ios_managed_app_protections_apps',
      'msgraph_list_targeted_managed_app_configurations_apps',
    ]);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(MAX_TOOL_NAME);
  });

  it('cuts a single word that is too long from its front, keeping what the operation returns', () => {
    const n = pathName('msgraph', get('/deviceManagement/windowsInformationProtectionNetworkLearningSummaries', 'x'));
    expect(n).toBe('msgraph_list_information_protection_network_learning_summaries');
    expect(n.length).toBeLessThanOrEqual(MAX_TOOL_NAME);
  });

  it('uses a counter only as a last resort, inside the 64 characters (suffix first, then the cut)', () => {
    // Same fixed words, different parameters only: nothing in the path tells them apart.
    const long = 'multiValueExtendedProperties';
    const ops = [
      get(`/users/{user-id}/calendarView/{event-id}/instances/{event-id1}/${long}/{x-id}/${long}/{y-id}/${long}`, 'a.b'),
      get(`/users/{user-id}/calendarView/{event-id}/instances/{event-id1}/${long}/{x-id}/${long}/${long}`, 'a.b'),
      get(`/users/{user-id}/calendarView/{event-id}/${long}/{x-id}/${long}/{y-id}/${long}`, 'a.b'),
    ];
    const names = namesOf(ops);
    expect(new Set(names).size).toBe(3);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(MAX_TOOL_NAME);
    expect(names.filter((n) => /_\d+$/.test(n)).length).toBeGreaterThan(0);
    expect(withCounter((max) => 'x'.repeat(max + 10), 159)).toBe(`${'x'.repeat(60)}_159`);
  });

  it('never takes a name the spec claims for a listed tool', () => {
    const [name] = namesOf([messages[0]], new Set(['msgraph_users_list_messages']));
    expect(name).toBe('msgraph_list_users_messages');
  });

  it('is deterministic: the same names whatever the order of the operations', () => {
    const ops = [...castOwners, ...messages];
    const forward = assignToolNames('msgraph', ops);
    const backward = assignToolNames('msgraph', [...ops].reverse());
    expect([...backward.entries()].sort()).toEqual([...forward.entries()].sort());
  });

  it('reads OData paths into words: namespaces reduced, function arguments kept, $count left to the verb', () => {
    expect(pathWords("/drives/{drive-id}/items/{driveItem-id}/microsoft.graph.image(width={width})")).toEqual(['drives', 'items', 'image', 'width']);
    expect(pathWords('/users/{user-id}/messages/$count')).toEqual(['users', 'messages']);
    expect(pathWords('/users/{user-id}/users')).toEqual(['users']);
  });
});
