package wsman

import "onboard/internal/ntlm"

// NTLM message encryption for WinRM over HTTP (MS-WSMV 2.2.9.1.1): each
// SOAP message is signed and sealed with the keys of the connection's NTLM
// session and framed as multipart/encrypted. The crypto and the framing
// are package ntlm's, shared with onboard's client.

const encryptedContentType = ntlm.EncryptedContentType

// sessionSecurity is the server's half of a connection's NTLM session.
type sessionSecurity = ntlm.Session

func newSessionSecurity(flags uint32, exportedKey []byte) (*sessionSecurity, error) {
	return ntlm.NewSession(flags, exportedKey, false)
}

// decodeEncrypted opens a multipart/encrypted request body.
func decodeEncrypted(body []byte, sec *sessionSecurity) ([]byte, error) {
	msg, _, err := sec.Unframe(body)
	return msg, err
}

// encodeEncrypted frames a response as Windows does.
func encodeEncrypted(msg []byte, sec *sessionSecurity) []byte {
	return sec.Frame(msg, ntlm.SOAPContentType)
}
