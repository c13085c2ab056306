//! The suppression list: search by address prefix as you type, filter, page through it with the
//! server's cursor, open one entry's history (also from a link, `?entry=ID`), and (for operators
//! and admins) add entries.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use rebound_api::v1::{AddSuppression, Suppression, SuppressionReason};
use std::time::Duration;

use crate::api::{self, ApiFailure, SuppressionFilter};
use crate::app::Session;
use crate::pages::common::{FieldError, FormError, when};
use crate::pages::suppression_detail::DetailPanel;

/// How long typing must pause before the search is sent.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// The loaded part of the list, and where it continues.
#[derive(Clone, Copy)]
struct Listing {
    items: RwSignal<Vec<Suppression>>,
    next: RwSignal<Option<String>>,
    loading: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    /// Bumped by every new first-page load, so that an older answer arriving late is dropped.
    generation: StoredValue<u64>,
}

impl Listing {
    fn new() -> Self {
        Self {
            items: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
            generation: StoredValue::new(0),
        }
    }

    /// Loads the first page for `filter` (`cursor` `None`), or the page after the loaded ones.
    fn load(self, filter: SuppressionFilter, cursor: Option<String>) {
        if cursor.is_none() {
            self.generation.update_value(|g| *g += 1);
        }
        let generation = self.generation.get_value();
        self.loading.set(true);
        self.error.set(None);
        spawn_local(async move {
            let page = api::suppressions(&filter, cursor.as_deref()).await;
            // `try_`: the page may have been left (and its signals disposed) while this was loading.
            if self.generation.try_get_value() != Some(generation) {
                return;
            }
            match page {
                Ok(page) => {
                    if cursor.is_none() {
                        self.items.set(page.items);
                    } else {
                        self.items.update(|items| items.extend(page.items));
                    }
                    self.next.set(page.next_cursor);
                }
                Err(failure) => self.error.set(Some(failure.message)),
            }
            self.loading.set(false);
        });
    }
}

#[component]
pub fn SuppressionsPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let typed = RwSignal::new(String::new());
    let q = RwSignal::new(String::new());
    let reason = RwSignal::new(None::<SuppressionReason>);
    let scope = RwSignal::new(String::new());
    let active = RwSignal::new(None::<bool>);
    let refresh = RwSignal::new(0u32);
    // `?entry=ID` (the dashboard's links) opens that entry.
    let entry = use_query_map().with_untracked(|q| q.get("entry").and_then(|id| id.parse().ok()));
    let selected = RwSignal::new(entry);
    let listing = Listing::new();
    let keystrokes = StoredValue::new(0u64);

    let filter = Memo::new(move |_| SuppressionFilter {
        q: q.get(),
        reason: reason.get(),
        scope: scope.get(),
        active: active.get(),
    });
    Effect::new(move |_| {
        refresh.track();
        listing.load(filter.get(), None);
    });
    let on_search = move |ev: leptos::ev::Event| {
        typed.set(event_target_value(&ev));
        keystrokes.update_value(|k| *k += 1);
        let mine = keystrokes.get_value();
        set_timeout(
            move || {
                if keystrokes.try_get_value() == Some(mine)
                    && let Some(text) = typed.try_get_untracked()
                {
                    q.set(text);
                }
            },
            DEBOUNCE,
        );
    };

    view! {
        <section class="page suppressions">
            <h1>"Suppressions"</h1>
            <Show when=move || session.can_write()>
                <AddForm refresh=refresh selected=selected/>
            </Show>
            <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
                <div>
                    <label for="search">"Address starts with"</label>
                    <input id="search" type="search" autocomplete="off" data-testid="search"
                        prop:value=typed on:input=on_search/>
                </div>
                <div>
                    <label for="filter-reason">"Reason"</label>
                    <select id="filter-reason" on:change=move |ev| reason.set(SuppressionReason::parse(&event_target_value(&ev)))>
                        <option value="">"Any"</option>
                        {SuppressionReason::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <div>
                    <label for="filter-scope">"Scope"</label>
                    <input id="filter-scope" autocomplete="off" placeholder="any"
                        on:change=move |ev| scope.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="filter-active">"Status"</label>
                    <select id="filter-active" on:change=move |ev| active.set(match event_target_value(&ev).as_str() {
                        "active" => Some(true),
                        "lifted" => Some(false),
                        _ => None,
                    })>
                        <option value="">"Any"</option>
                        <option value="active">"Active"</option>
                        <option value="lifted">"Lifted"</option>
                    </select>
                </div>
            </form>
            {move || selected.get().map(|id| view! { <DetailPanel id=id selected=selected refresh=refresh/> })}
            <ResultsTable listing=listing filter=filter selected=selected/>
        </section>
    }
}

/// The loaded entries, a "Load more" button while the server has more, and the list's state.
#[component]
fn ResultsTable(listing: Listing, filter: Memo<SuppressionFilter>, selected: RwSignal<Option<i64>>) -> impl IntoView {
    let rows = move || {
        listing
            .items
            .get()
            .into_iter()
            .map(|s| {
                let id = s.id;
                let status = if s.active { "active" } else { "lifted" };
                view! {
                    <tr data-testid="suppression-row">
                        <td><button type="button" class="link" data-testid="open-entry"
                            on:click=move |_| selected.set(Some(id))>{s.address}</button></td>
                        <td>{s.scope}</td>
                        <td>{s.reason.as_str()}</td>
                        <td>{s.source}</td>
                        <td class=format!("status status-{status}")>{status}</td>
                        <td>{when(s.updated_at)}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        {move || listing.error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        <table class="list" aria-busy=move || listing.loading.get().to_string()>
            <thead><tr>
                <th scope="col">"Address"</th><th scope="col">"Scope"</th><th scope="col">"Reason"</th>
                <th scope="col">"Source"</th><th scope="col">"Status"</th><th scope="col">"Updated"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="list-state" aria-live="polite">
            {move || if listing.loading.get() {
                "Loading…".to_owned()
            } else if listing.items.with(Vec::is_empty) && listing.error.with(Option::is_none) {
                "No entries match.".to_owned()
            } else {
                format!("{} shown", listing.items.with(Vec::len))
            }}
        </p>
        <Show when=move || listing.next.with(Option::is_some)>
            <button type="button" data-testid="load-more" disabled=move || listing.loading.get()
                on:click=move |_| listing.load(filter.get_untracked(), listing.next.get_untracked())>"Load more"</button>
        </Show>
    }
}

/// Adds an address or a whole domain.
#[component]
fn AddForm(refresh: RwSignal<u32>, selected: RwSignal<Option<i64>>) -> impl IntoView {
    let address = RwSignal::new(String::new());
    let reason = RwSignal::new(SuppressionReason::Manual);
    let scope = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiFailure>);
    let done = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let optional = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let request = AddSuppression {
            address: address.get_untracked(),
            scope: optional(scope.get_untracked()),
            reason: Some(reason.get_untracked()),
            note: optional(note.get_untracked()),
            expires_at: None,
        };
        busy.set(true);
        failure.set(None);
        done.set(None);
        spawn_local(async move {
            match api::add_suppression(&request).await {
                Ok(change) => {
                    done.set(Some(format!("{}: {}", change.suppression.address, change.change)));
                    address.set(String::new());
                    note.set(String::new());
                    selected.set(Some(change.suppression.id));
                    refresh.update(|n| *n += 1);
                }
                Err(f) => failure.set(Some(f)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card add" on:submit=submit aria-labelledby="add-title">
            <h2 id="add-title">"Add an address or domain"</h2>
            <div class="row">
                <div>
                    <label for="add-address">"Address or domain"</label>
                    <input id="add-address" required autocomplete="off" placeholder="jane@example.com or example.com"
                        prop:value=address on:input=move |ev| address.set(event_target_value(&ev))/>
                    <FieldError failure=failure field="address"/>
                </div>
                <div>
                    <label for="add-reason">"Reason"</label>
                    <select id="add-reason" on:change=move |ev| {
                        if let Some(r) = SuppressionReason::parse(&event_target_value(&ev)) { reason.set(r) }
                    }>
                        {SuppressionReason::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str() selected=r == SuppressionReason::Manual>{r.as_str()}</option>
                        }).collect_view()}
                    </select>
                    <FieldError failure=failure field="reason"/>
                </div>
                <div>
                    <label for="add-scope">"Scope"</label>
                    <input id="add-scope" autocomplete="off" placeholder="global"
                        prop:value=scope on:input=move |ev| scope.set(event_target_value(&ev))/>
                    <FieldError failure=failure field="scope"/>
                </div>
            </div>
            <label for="add-note">"Note"</label>
            <input id="add-note" autocomplete="off" class="wide"
                prop:value=note on:input=move |ev| note.set(event_target_value(&ev))/>
            <FieldError failure=failure field="note"/>
            <FormError failure=failure fields=&["address", "reason", "scope", "note"]/>
            {move || done.get().map(|message| view! { <p class="ok" role="status" data-testid="add-result">{message}</p> })}
            <button type="submit" disabled=busy>"Add"</button>
        </form>
    }
}
