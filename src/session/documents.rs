//! URL clients: clients whose client_id is the URL of a client metadata document the tool's
//! document server hosts. The run's own clients in `cimd` mode, and the documents of the
//! `cimd.*` checks (one per check and case).
//!
//! Only methods of `Session` live here; the types they return are in `client`, so that the
//! session's own file never imports this one.

use std::sync::Arc;

use super::Session;
use super::client::{Client, ClientKind, DocumentClient, DocumentError};
use crate::suite::model::DocumentCase;

impl Session {
    fn server(&self) -> Result<&Arc<crate::cimd::DocumentServer>, String> {
        self.documents.as_ref().ok_or_else(|| {
            "needs the tool's client metadata document server, which this run did not start"
                .to_string()
        })
    }

    /// The URL client standing for a kind in `cimd` mode: a valid document listing the
    /// redirect URIs the kind would register. Documents carry no secret, so the confidential
    /// kinds must be given.
    pub(super) async fn url_client_of(&self, kind: ClientKind) -> Result<Arc<Client>, String> {
        let shape = kind.shape();
        let Some(cell) = self.url_clients.get(&shape) else {
            return Err(format!(
                "needs a {} client, which a client metadata document cannot describe (no shared secret); {}",
                kind.as_str(),
                super::given::role_hint(kind)
            ));
        };
        let client = cell
            .get_or_init(|| async {
                let uris = super::strings(&self.metadata(kind)["redirect_uris"]);
                let server = self.server()?;
                let placement = server.create(DocumentCase::Valid, uris.clone(), Vec::new())?;
                Ok(self.remember(Client {
                    kind,
                    client_id: placement.client_id,
                    client_secret: None,
                    auth_method: "none".into(),
                    redirect_uris: uris,
                }))
            })
            .await
            .clone()?;
        Ok(Arc::new(client.as_kind(kind)))
    }

    fn remember(&self, client: Client) -> Arc<Client> {
        let client = Arc::new(client);
        if let Ok(mut m) = self.by_client_id.lock() {
            m.insert(client.client_id.clone(), client.clone());
        }
        client
    }

    /// The document of a case for a check, hosted on first use; a second step of the same check
    /// naming the same case gets the same document (and so its fetch history).
    pub fn document_client(
        &self,
        check: &str,
        case: DocumentCase,
    ) -> Result<DocumentClient, DocumentError> {
        let key = (check.to_string(), case);
        if let Some(d) = self
            .case_documents
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return Ok(d);
        }
        let server = self.server().map_err(DocumentError::Unavailable)?;
        let first = self.callback.uri("/callback");
        let (uris, later) = match case {
            DocumentCase::NoStoreChanging => {
                (vec![first], vec![self.callback.uri("/callback-changed")])
            }
            _ => (vec![first], Vec::new()),
        };
        let placement = server
            .create(case, uris.clone(), later.clone())
            .map_err(DocumentError::NotHere)?;
        let client = self.remember(Client {
            kind: ClientKind::Main,
            client_id: placement.client_id.clone(),
            client_secret: None,
            auth_method: "none".into(),
            // Every URI the document ever lists: a redirect to any of them is to a URI the
            // client named.
            redirect_uris: uris.into_iter().chain(later.iter().cloned()).collect(),
        });
        let doc = DocumentClient {
            client,
            placement,
            later_redirect_uri: later.into_iter().next(),
        };
        if let Ok(mut m) = self.case_documents.lock() {
            m.insert(key, doc.clone());
        }
        Ok(doc)
    }

    /// The URL client with this client_id, for the token step after its authorization.
    pub fn url_client(&self, client_id: &str) -> Option<Arc<Client>> {
        self.by_client_id.lock().ok()?.get(client_id).cloned()
    }
}
