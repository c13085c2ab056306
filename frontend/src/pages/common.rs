//! Small pieces the list pages share: times as people read them, a pause for polling and
//! debouncing, the way a server error is shown next to the control it is about, and a list the
//! server hands out a page at a time.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::Page;
use wasm_bindgen::JsValue;

use crate::api::ApiFailure;

/// A Unix time in seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn when(seconds: i64) -> String {
    let iso: String = js_sys::Date::new(&JsValue::from_f64(seconds as f64 * 1000.0)).to_iso_string().into();
    match (iso.get(..10), iso.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => iso,
    }
}

/// Resolves after `ms` milliseconds (at once when there is no window to time it).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let scheduled = web_sys::window()
            .map(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).is_ok())
            .unwrap_or(false);
        if !scheduled {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The server's message for one field, shown under its control and announced.
#[component]
pub fn FieldError(failure: RwSignal<Option<ApiFailure>>, #[prop(into)] field: String) -> impl IntoView {
    move || {
        failure.with(|f| f.as_ref().and_then(|f| f.for_field(&field))).map(|message| {
            view! { <p class="error field-error" role="alert" data-testid=format!("error-{field}")>{message}</p> }
        })
    }
}

/// A failure no single field is to blame for.
#[component]
pub fn FormError(failure: RwSignal<Option<ApiFailure>>, fields: &'static [&'static str]) -> impl IntoView {
    move || {
        failure.with(|f| {
            f.as_ref()
                .filter(|f| f.field.as_deref().is_none_or(|name| !fields.contains(&name)))
                .map(|f| view! { <p class="error" role="alert">{f.message.clone()}</p> })
        })
    }
}

/// The loaded part of a list the server pages by cursor, and where it continues.
pub struct Paged<T: Send + Sync + 'static> {
    pub items: RwSignal<Vec<T>>,
    pub next: RwSignal<Option<String>>,
    pub error: RwSignal<Option<String>>,
}

impl<T: Send + Sync + 'static> Clone for Paged<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Paged<T> {}

impl<T: Send + Sync + 'static> Paged<T> {
    pub fn new() -> Self {
        Self { items: RwSignal::new(Vec::new()), next: RwSignal::new(None), error: RwSignal::new(None) }
    }

    /// Loads a page with `fetch`: the first (replacing what is loaded) for no cursor, else the
    /// next one, appended.
    pub fn load<F>(self, cursor: Option<String>, fetch: impl FnOnce(Option<String>) -> F)
    where
        F: Future<Output = Result<Page<T>, ApiFailure>> + 'static,
    {
        let first = cursor.is_none();
        let page = fetch(cursor);
        spawn_local(async move {
            // `try_`: the page may have been left (and its signals disposed) while this was loading.
            match page.await {
                Ok(page) => {
                    self.items.try_update(|items| {
                        if first {
                            items.clear();
                        }
                        items.extend(page.items);
                    });
                    self.next.try_set(page.next_cursor);
                }
                Err(f) => {
                    self.error.try_set(Some(f.message));
                }
            }
        });
    }

    /// Puts the server's answer to a change in place of the loaded item with the same `id`.
    pub fn replace(self, item: T, id: fn(&T) -> i64) {
        self.items.update(|items| {
            if let Some(old) = items.iter_mut().find(|old| id(old) == id(&item)) {
                *old = item;
            }
        })
    }
}
