package ghfake

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// verifyAppJWT checks an app JWT the way GitHub documents it: RS256 signed
// with the App's key, iss = the App id (number or string), iat and exp set,
// exp no more than ten minutes after iat and not yet passed.
func verifyAppJWT(token string, key *rsa.PublicKey, appID int64, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if hdr.Alg != "RS256" {
		return fmt.Errorf("alg %q, want RS256", hdr.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if key == nil {
		return errors.New("no app public key configured")
	}
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat *float64        `json:"iat"`
		Exp *float64        `json:"exp"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	iss := strings.Trim(string(claims.Iss), `"`)
	if iss != strconv.FormatInt(appID, 10) {
		return fmt.Errorf("iss %s is not app %d", claims.Iss, appID)
	}
	if claims.Iat == nil || claims.Exp == nil {
		return errors.New("iat and exp are required")
	}
	iat := time.Unix(int64(*claims.Iat), 0)
	exp := time.Unix(int64(*claims.Exp), 0)
	switch {
	case exp.Sub(iat) > 10*time.Minute:
		return errors.New("'Expiration time' claim ('exp') is too far in the future")
	case !now.Before(exp):
		return errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case iat.After(now.Add(time.Minute)):
		return errors.New("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
