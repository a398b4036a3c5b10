// The mass-deprovision guard: what it holds (who, what, which source, when),
// Approve all / Discard all (each asks first), and its settings. The health
// strip's guard item links here.
import { api, type GuardSettings, type GuardView, type HeldChange } from '../api';
import type { ConsoleContext } from '../context';
import { announce, badge, empty, errorBox, fmtDate, ago, h, loading, replace, whileBusy } from '../ui';

const KIND = { deactivate: 'Deactivate', delete: 'Delete', group_remove: 'Remove from group' } as const;
const SOURCE = { scim: 'SCIM (Entra provisioning)', import: 'Group import' } as const;

export async function renderGuard(panel: HTMLElement, ctx: ConsoleContext): Promise<void> {
  const heldEl = h('section', { class: 'card', 'aria-labelledby': 'guard-held-title', id: 'guard-held' });
  const settingsEl = h('section', { class: 'card', 'aria-labelledby': 'guard-settings-title', id: 'guard-settings' });
  replace(panel, heldEl, settingsEl);

  const draw = (v: GuardView) => {
    replace(heldEl, ...heldView(v.held, v.settings));
    replace(settingsEl, ...settingsView(v.settings));
  };

  const act = whileBusy;

  const approve = (ev: Event, n: number) =>
    act(ev.currentTarget as HTMLButtonElement, async () => {
      if (!confirm(`Approve all ${n} held change${n === 1 ? '' : 's'}? They apply at once, in one go: these members lose their access.`)) return;
      const r = await api.approveHeld();
      draw(r);
      announce(`Approved ${r.decision.approved}: ${r.decision.deactivated} deactivated, ${r.decision.deleted} deleted, ${r.decision.membershipsRemoved} removed from groups`);
      ctx.refreshHealth();
    });

  const discard = (ev: Event, n: number) =>
    act(ev.currentTarget as HTMLButtonElement, async () => {
      if (!confirm(`Discard all ${n} held change${n === 1 ? '' : 's'}? Nothing is applied: these members keep their access. If Entra still wants them out, it asks again.`)) return;
      const r = await api.discardHeld();
      draw(r);
      announce(`Discarded ${r.decision.discarded}: nothing was applied`);
      ctx.refreshHealth();
    });

  function heldView(held: HeldChange[], s: GuardSettings): Node[] {
    const title = h('h2', { id: 'guard-held-title', tabindex: '-1' }, 'Held changes ', held.length > 0 ? badge(`${held.length} held`, 'error') : badge('None', 'ok'));
    if (held.length === 0) {
      return [title, empty('Nothing is held. When Entra or an import would take access away from more members than the guard allows, the excess waits here for you.')];
    }
    return [
      title,
      h(
        'p',
        { class: 'warning' },
        `More members would lose access than the guard allows (${s.thresholdPercent} %, at least ${s.minCount}, within ${s.windowMinutes} min). They keep their access until you decide. Check in Entra that these people really left (a scoping filter or group change there can remove many at once).`,
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-danger', id: 'guard-approve', onclick: (e: Event) => void approve(e, held.length) }, `Approve all (${held.length})`),
        h('button', { type: 'button', class: 'btn', id: 'guard-discard', onclick: (e: Event) => void discard(e, held.length) }, `Discard all (${held.length})`),
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'held', id: 'guard-held-table' },
          h(
            'thead',
            {},
            h('tr', {}, h('th', { scope: 'col' }, 'Member'), h('th', { scope: 'col' }, 'Change'), h('th', { scope: 'col' }, 'Source'), h('th', { scope: 'col' }, 'Held since')),
          ),
          h(
            'tbody',
            {},
            held.map((c) =>
              h(
                'tr',
                { 'data-held': c.id },
                h('td', {}, c.memberLabel ?? c.memberId),
                h('td', {}, c.kind === 'group_remove' ? `${KIND[c.kind]} ${c.groupLabel ?? c.groupId ?? ''}` : KIND[c.kind]),
                h('td', {}, SOURCE[c.source], h('div', { class: 'hint' }, c.actorLabel)),
                h('td', {}, fmtDate(c.heldAt), c.repeats > 0 ? h('div', { class: 'hint' }, `asked again ${c.repeats}×, last ${ago(c.lastAskedAt)}`) : null),
              ),
            ),
          ),
        ),
      ),
    ];
  }

  function settingsView(s: GuardSettings): Node[] {
    const num = (id: string, label: string, value: number, min: number, max: number, hint: string) =>
      h(
        'div',
        { class: 'field' },
        h('label', { for: id }, label),
        h('input', { id, type: 'number', min, max, step: 1, value, required: true, inputmode: 'numeric', 'aria-describedby': `${id}-hint` }),
        h('p', { class: 'hint', id: `${id}-hint` }, hint),
      );
    const enabled = h('input', { id: 'guard-enabled', type: 'checkbox', checked: s.enabled });
    const form = h(
      'form',
      {
        id: 'guard-form',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const button = document.getElementById('guard-save') as HTMLButtonElement;
          const value = (id: string) => Number((document.getElementById(id) as HTMLInputElement).value);
          void act(button, async () => {
            const on = (document.getElementById('guard-enabled') as HTMLInputElement).checked;
            if (!on && s.enabled && !confirm('Turn the guard off? Any number of deactivations from Entra or an import then apply at once.')) return;
            draw(await api.setGuardSettings({ enabled: on, thresholdPercent: value('guard-threshold'), minCount: value('guard-min'), windowMinutes: value('guard-window') }));
            announce('Guard settings saved');
            ctx.refreshHealth();
          });
        },
      },
      h('div', { class: 'field field-check' }, h('label', { for: 'guard-enabled' }, enabled, ' Hold mass deprovisioning (recommended)')),
      num('guard-threshold', 'Threshold (% of active members)', s.thresholdPercent, 1, 100, 'Hold beyond this share of the active members…'),
      num('guard-min', 'Minimum (members)', s.minCount, 1, 1_000_000, '…and beyond at least this many members…'),
      num('guard-window', 'Window (minutes)', s.windowMinutes, 1, 10_080, '…losing access from one source within this sliding window.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', id: 'guard-save' }, 'Save settings')),
    );
    return [
      h('h2', { id: 'guard-settings-title' }, 'Guard settings ', s.enabled ? badge('On', 'ok') : badge('Off', 'off')),
      h(
        'p',
        { class: 'hint' },
        'Like Entra’s accidental deletions prevention: when SCIM or a group import would take access away from too many members at once, the excess is held for you to approve or discard. A person you deactivate yourself is never held.',
      ),
      form,
    ];
  }

  replace(heldEl, loading('Loading the guard'));
  try {
    draw(await api.guard());
  } catch (e) {
    replace(heldEl, errorBox(e, () => void renderGuard(panel, ctx)));
    replace(settingsEl);
  }
}
