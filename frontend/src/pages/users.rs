//! Staff accounts (admins only), newest first a page at a time: create one with a role, change a
//! role, disable or enable an account, reset a password. A generated password is shown once, in the answer that made it; the
//! server never returns it again. The API keys section is in `keys`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::{CreateUser, Role, UpdateUser, UserInfo, UserWithPassword};

use crate::api::{self, ApiFailure};
use crate::app::Session;
use crate::pages::common::{FieldError, FormError, Paged, when};
use crate::pages::keys::KeysSection;

const ROLES: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

#[component]
pub fn UsersPage() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <section class="page users">
            <h1>"Users and API keys"</h1>
            <Show when=move || session.is_admin()
                fallback=|| view! { <p class="hint" data-testid="admin-only">"Only an admin manages accounts and keys."</p> }>
                <UsersSection/>
                <KeysSection/>
            </Show>
        </section>
    }
}

/// A password shown once, with the account it belongs to.
#[component]
fn ShownOnce(shown: RwSignal<Option<UserWithPassword>>) -> impl IntoView {
    move || {
        shown.get().and_then(|u| u.password.map(|p| (u.user.username, p))).map(|(name, password)| {
            view! {
                <div class="card secret" role="status">
                    <p>"Password for "<strong>{name}</strong>", shown only now:"</p>
                    <p><code data-testid="shown-password">{password}</code></p>
                    <button type="button" class="secondary" on:click=move |_| shown.set(None)>"I have noted it"</button>
                </div>
            }
        })
    }
}

#[component]
fn UsersSection() -> impl IntoView {
    let list = Paged::<UserInfo>::new();
    let shown = RwSignal::new(None::<UserWithPassword>);
    let reload = move || list.load(None, api::users);
    reload();
    view! {
        <h2>"Staff accounts"</h2>
        <NewUserForm shown=shown reload=reload/>
        <ShownOnce shown=shown/>
        {move || list.error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        <table class="list">
            <thead><tr><th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col">"Status"</th>
                <th scope="col">"Created"</th><th scope="col">"Actions"</th></tr></thead>
            <tbody>
                <For each=move || list.items.get() key=|u| (u.id, u.role.as_str(), u.disabled) let(user)>
                    <UserRow user=user list=list shown=shown/>
                </For>
            </tbody>
        </table>
        <button type="button" class="secondary" data-testid="more-users" hidden=move || list.next.with(Option::is_none)
            on:click=move |_| list.load(list.next.get_untracked(), api::users)>"More accounts"</button>
    }
}

#[component]
fn UserRow(user: UserInfo, list: Paged<UserInfo>, shown: RwSignal<Option<UserWithPassword>>) -> impl IntoView {
    let id = user.id;
    let update = move |request: UpdateUser| {
        list.error.set(None);
        spawn_local(async move {
            match api::update_user(id, &request).await {
                Ok(user) => list.replace(user, |u| u.id),
                Err(f) => list.error.set(Some(f.message)),
            }
        });
    };
    let reset = move |_| {
        list.error.set(None);
        spawn_local(async move {
            match api::reset_password(id).await {
                Ok(answer) => shown.set(Some(answer)),
                Err(f) => list.error.set(Some(f.message)),
            }
        });
    };
    let disabled = user.disabled;
    let role_id = format!("role-{id}");
    view! {
        <tr data-testid="user-row">
            <td data-testid="user-name">{user.username.clone()}</td>
            <td>
                <label class="sr-only" for=role_id.clone()>{format!("Role of {}", user.username)}</label>
                <select id=role_id on:change=move |ev| update(UpdateUser { role: Role::parse(&event_target_value(&ev)), disabled: None })>
                    {ROLES.iter().map(|r| view! { <option value=r.as_str() selected=*r == user.role>{r.as_str()}</option> }).collect_view()}
                </select>
            </td>
            <td data-testid="user-status">{if disabled { "disabled" } else { "active" }}</td>
            <td>{when(user.created_at)}</td>
            <td class="buttons">
                <button type="button" class="secondary" on:click=move |_| update(UpdateUser { role: None, disabled: Some(!disabled) })>
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
                <button type="button" class="secondary" on:click=reset>"Reset password"</button>
            </td>
        </tr>
    }
}

#[component]
fn NewUserForm(
    shown: RwSignal<Option<UserWithPassword>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    let password = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = password.get_untracked();
        let request = CreateUser {
            username: username.get_untracked(),
            role: role.get_untracked(),
            password: (!typed.is_empty()).then_some(typed),
        };
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            match api::create_user(&request).await {
                Ok(answer) => {
                    username.set(String::new());
                    password.set(String::new());
                    shown.set(Some(answer));
                    reload();
                }
                Err(f) => failure.set(Some(f)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card" on:submit=submit aria-labelledby="new-user-title">
            <h3 id="new-user-title">"New account"</h3>
            <div class="row">
                <div>
                    <label for="new-username">"Username"</label>
                    <input id="new-username" autocomplete="off" required prop:value=username on:input=move |ev| username.set(event_target_value(&ev))/>
                    <FieldError failure=failure field="username"/>
                </div>
                <div>
                    <label for="new-role">"Role"</label>
                    <select id="new-role" on:change=move |ev| if let Some(r) = Role::parse(&event_target_value(&ev)) { role.set(r) }>
                        {ROLES.iter().map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <div>
                    <label for="new-password">"Password (empty: generate one)"</label>
                    <input id="new-password" type="password" autocomplete="new-password" prop:value=password
                        on:input=move |ev| password.set(event_target_value(&ev))/>
                    <FieldError failure=failure field="password"/>
                </div>
            </div>
            <FormError failure=failure fields=&["username", "password"]/>
            <button type="submit" disabled=busy>"Create account"</button>
        </form>
    }
}
