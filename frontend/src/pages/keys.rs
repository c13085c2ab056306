//! API keys (admins only): create one with its scopes, see them listed by name and prefix (newest
//! first, a page at a time), revoke one. The token is shown once, in the answer that created it;
//! only its digest is stored.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::{ApiKey, CreateApiKey, CreatedApiKey, KeyScope};

use crate::api::{self, ApiFailure};
use crate::pages::common::{FieldError, FormError, Paged, when};

#[component]
pub fn KeysSection() -> impl IntoView {
    let list = Paged::<ApiKey>::new();
    let created = RwSignal::new(None::<CreatedApiKey>);
    let reload = move || list.load(None, api::keys);
    reload();
    let revoke = move |id: i64| {
        list.error.set(None);
        spawn_local(async move {
            match api::revoke_key(id).await {
                Ok(key) => list.replace(key, |k| k.id),
                Err(f) => list.error.set(Some(f.message)),
            }
        });
    };
    view! {
        <h2>"API keys"</h2>
        <NewKeyForm created=created reload=reload/>
        {move || created.get().map(|c| view! {
            <div class="card secret" role="status">
                <p>"Token of "<strong>{c.key.name}</strong>", shown only now; store it where the client reads it:"</p>
                <p><code data-testid="shown-token">{c.token}</code></p>
                <button type="button" class="secondary" on:click=move |_| created.set(None)>"I have stored it"</button>
            </div>
        })}
        {move || list.error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        <table class="list">
            <thead><tr><th scope="col">"Name"</th><th scope="col">"Prefix"</th><th scope="col">"Scopes"</th>
                <th scope="col">"Created"</th><th scope="col">"Status"</th></tr></thead>
            <tbody>
                {move || list.items.get().into_iter().map(|k| {
                    let id = k.id;
                    let scopes = k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                    view! {
                        <tr data-testid="key-row">
                            <td>{k.name}</td>
                            <td><code>{k.prefix}</code></td>
                            <td>{scopes}</td>
                            <td>{format!("{} by {}", when(k.created_at), k.created_by)}</td>
                            <td>{match k.revoked_at {
                                Some(at) => format!("revoked {}", when(at)).into_any(),
                                None => view! { <button type="button" class="secondary" on:click=move |_| revoke(id)>"Revoke"</button> }.into_any(),
                            }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <button type="button" class="secondary" data-testid="more-keys" hidden=move || list.next.with(Option::is_none)
            on:click=move |_| list.load(list.next.get_untracked(), api::keys)>"More keys"</button>
    }
}

#[component]
fn NewKeyForm(
    created: RwSignal<Option<CreatedApiKey>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let scopes = RwSignal::new(vec![KeyScope::Check]);
    let failure = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = CreateApiKey { name: name.get_untracked(), scopes: scopes.get_untracked() };
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            match api::create_key(&request).await {
                Ok(answer) => {
                    name.set(String::new());
                    created.set(Some(answer));
                    reload();
                }
                Err(f) => failure.set(Some(f)),
            }
            busy.set(false);
        });
    };
    let toggle = move |scope: KeyScope, on: bool| {
        scopes.update(|s| {
            s.retain(|x| *x != scope);
            if on {
                s.push(scope);
            }
        })
    };
    view! {
        <form class="card" on:submit=submit aria-labelledby="new-key-title">
            <h3 id="new-key-title">"New API key"</h3>
            <label for="key-name">"Key name"</label>
            <input id="key-name" autocomplete="off" required placeholder="mta-1" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
            <FieldError failure=failure field="name"/>
            <fieldset>
                <legend>"Scopes"</legend>
                {KeyScope::ALL.into_iter().map(|scope| view! {
                    <label class="check"><input type="checkbox" prop:checked=move || scopes.with(|s| s.contains(&scope))
                        on:change=move |ev| toggle(scope, event_target_checked(&ev))/>{scope.as_str()}</label>
                }).collect_view()}
            </fieldset>
            <FieldError failure=failure field="scopes"/>
            <FormError failure=failure fields=&["name", "scopes"]/>
            <button type="submit" disabled=busy>"Create key"</button>
        </form>
    }
}
