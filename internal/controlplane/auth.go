package controlplane

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

// authenticate resolves the bearer token of r to a principal.
func (cp *ControlPlane) authenticate(r *http.Request) (*caller, error) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return nil, errorf(http.StatusUnauthorized, "Unauthorized", "missing bearer token: send Authorization: Bearer <principal token>")
	}
	p, err := cp.st.PrincipalByTokenHash(r.Context(), hashToken(strings.TrimSpace(token)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusUnauthorized, "Unauthorized", "invalid bearer token")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	as, err := cp.st.ListRoleAssignments(r.Context(), p.ID)
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	return &caller{Principal: p, assignments: as}, nil
}

// newToken returns a fresh principal bearer token.
func newToken() (string, error) {
	s, err := randomString(40)
	if err != nil {
		return "", err
	}
	return "maas_" + s, nil
}

// Bootstrap makes sure an Owner at scope "/" exists. With a non-empty token
// (MAAS_ADMIN_TOKEN) it ensures a principal "admin" with that token holds
// Owner at "/" and returns "". Otherwise, when the installation has no
// principal yet, it creates "admin" with a random token and returns the
// token, to be shown once; later calls return "".
func (cp *ControlPlane) Bootstrap(ctx context.Context, token string) (string, error) {
	if token != "" {
		p, err := cp.st.PrincipalByTokenHash(ctx, hashToken(token))
		if errors.Is(err, store.ErrNotFound) {
			p, err = cp.newPrincipal(ctx, "admin", token)
		}
		if err != nil {
			return "", fmt.Errorf("bootstrap owner: %w", err)
		}
		return "", cp.ensureRootOwner(ctx, p.ID)
	}
	ps, err := cp.st.ListPrincipals(ctx)
	if err != nil {
		return "", fmt.Errorf("bootstrap owner: %w", err)
	}
	if len(ps) > 0 {
		return "", nil
	}
	token, err = newToken()
	if err != nil {
		return "", fmt.Errorf("bootstrap owner: %w", err)
	}
	p, err := cp.newPrincipal(ctx, "admin", token)
	if err != nil {
		return "", fmt.Errorf("bootstrap owner: %w", err)
	}
	if err := cp.ensureRootOwner(ctx, p.ID); err != nil {
		return "", err
	}
	return token, nil
}

func (cp *ControlPlane) newPrincipal(ctx context.Context, name, token string) (store.Principal, error) {
	id, err := randomID("p-")
	if err != nil {
		return store.Principal{}, err
	}
	p := store.Principal{ID: id, Name: name, TokenHash: hashToken(token), CreatedAt: cp.now()}
	if err := cp.st.CreatePrincipal(ctx, p); err != nil {
		return store.Principal{}, err
	}
	return p, nil
}

func (cp *ControlPlane) ensureRootOwner(ctx context.Context, principalID string) error {
	as, err := cp.st.ListRoleAssignments(ctx, principalID)
	if err != nil {
		return fmt.Errorf("bootstrap owner: %w", err)
	}
	for _, a := range as {
		if a.Role == apiv1.RoleOwner && a.Scope == "/" {
			return nil
		}
	}
	b := make([]byte, 4)
	rand.Read(b)
	_, err = cp.st.PutRoleAssignment(ctx, store.RoleAssignment{
		ID: fmt.Sprintf("bootstrap-%s-%x", principalID, b), PrincipalID: principalID,
		Role: apiv1.RoleOwner, Scope: "/", CreatedAt: cp.now(),
	})
	if err != nil {
		return fmt.Errorf("bootstrap owner: %w", err)
	}
	return nil
}

// Authorize checks that r carries the bearer token of a known principal; it
// guards read-only operational routes outside the REST API (GET /api/ps).
func (cp *ControlPlane) Authorize(r *http.Request) error {
	if _, err := cp.authenticate(r); err != nil {
		return err
	}
	return nil
}
