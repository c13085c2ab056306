//! The application shell: the signed-in user, the navigation bar and the routes.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;
use rebound_api::v1::{Me, Role};

use crate::api;
use crate::pages::audit::AuditPage;
use crate::pages::classify::ClassifyPage;
use crate::pages::dashboard::DashboardPage;
use crate::pages::import::ImportPage;
use crate::pages::login::LoginPage;
use crate::pages::policy::PolicyPage;
use crate::pages::suppressions::SuppressionsPage;
use crate::pages::unclassified::UnclassifiedPage;
use crate::pages::users::UsersPage;

/// Who is signed in: `None` until known or when signed out. Provided as context to every page.
#[derive(Clone, Copy)]
pub struct Session(pub RwSignal<Option<Me>>);

impl Session {
    /// Whether the signed-in user may change the list (operators and admins). The server enforces
    /// it anyway; the console only leaves out what would be refused.
    pub fn can_write(self) -> bool {
        self.0.with(|me| me.as_ref().is_some_and(|me| matches!(me.role, Role::Admin | Role::Operator)))
    }

    /// Whether the signed-in user may change settings, keys and accounts.
    pub fn is_admin(self) -> bool {
        self.0.with(|me| me.as_ref().is_some_and(|me| me.role == Role::Admin))
    }

    pub fn signed_in(self) -> bool {
        self.0.with(Option::is_some)
    }
}

#[component]
pub fn App() -> impl IntoView {
    let session = Session(RwSignal::new(None));
    provide_context(session);
    spawn_local(async move {
        if let Ok(me) = api::me().await {
            session.0.set(me);
        }
    });
    view! {
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"Rebound"</A>
                <nav aria-label="Main">
                    <Show when=move || session.signed_in()>
                        <A href="/dashboard">"Dashboard"</A>
                    </Show>
                    <A href="/">"Classify"</A>
                    <Show when=move || session.signed_in()>
                        <A href="/suppressions">"Suppressions"</A>
                        <Show when=move || session.can_write()>
                            <A href="/import">"Import"</A>
                        </Show>
                        <A href="/audit">"Audit"</A>
                        <A href="/unclassified">"Unclassified"</A>
                        <A href="/policy">"Policy"</A>
                        <Show when=move || session.is_admin()>
                            <A href="/users">"Users"</A>
                        </Show>
                    </Show>
                </nav>
                <SessionBadge/>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"This page does not exist."</p> }>
                    <Route path=path!("/") view=ClassifyPage/>
                    <Route path=path!("/dashboard") view=DashboardPage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/suppressions") view=SuppressionsPage/>
                    <Route path=path!("/import") view=ImportPage/>
                    <Route path=path!("/audit") view=AuditPage/>
                    <Route path=path!("/policy") view=PolicyPage/>
                    <Route path=path!("/unclassified") view=UnclassifiedPage/>
                    <Route path=path!("/users") view=UsersPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// The signed-in user and a sign-out button, or a sign-in link.
#[component]
fn SessionBadge() -> impl IntoView {
    let Session(me) = expect_context::<Session>();
    let sign_out = move |_| {
        spawn_local(async move {
            if api::logout().await.is_ok() {
                me.set(None);
            }
        });
    };
    move || match me.get() {
        Some(user) => view! {
            <div class="session">
                <span data-testid="signed-in-as">{user.username}" · "{user.role.as_str()}</span>
                <button type="button" class="link" on:click=sign_out>"Sign out"</button>
            </div>
        }
        .into_any(),
        None => view! { <A href="/login" attr:class="session">"Sign in"</A> }.into_any(),
    }
}
