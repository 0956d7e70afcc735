"""REST endpoints about the caller: who am I, and a token for scripts, to get and to revoke
(mounted under /api/v1/). Getting a token asks for what logging in on the page asks for: the
password, and the code from the authenticator app when the user has two-factor authentication."""

from __future__ import annotations

from axes.utils import reset
from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts import lockouts, two_factor
from accounts.audit import Action, record
from accounts.models import Company, User
from accounts.roles import roles_of
from procuresync.api import OptionalEmailField, parsed
from procuresync.api_errors import ErrorOut
from procuresync.errors import ValidationFailed


class UserOut(serializers.ModelSerializer):
    email = OptionalEmailField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email"]
        read_only_fields = fields


class CompanyOut(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "home_currency"]
        read_only_fields = fields


class MeOut(serializers.Serializer):
    user = UserOut()
    company = CompanyOut(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField(), help_text="Create, Approve, Payment, Admin.")


class TokenIn(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    # Not limited here: accounts.two_factor says what is wrong with anything that is not a code.
    code = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=(
            "Only for users with two-factor authentication: the 6-digit code their authenticator app "
            "shows now, or one of their recovery codes (each works once)."
        ),
    )


class TokenOut(serializers.Serializer):
    token = serializers.CharField(help_text='Send as "Authorization: Token <token>".')


class MeView(APIView):
    @extend_schema(responses={200: MeOut, 403: ErrorOut})
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)
        roles = sorted(role.value for role in roles_of(user))
        return Response(MeOut({"user": user, "company": user.company, "roles": roles}).data)


class WrongCredentials(exceptions.APIException):
    """A well-formed request whose username and password do not match an active user: 401."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "Unable to log in with the username and password given."
    default_code = "invalid_credentials"


class LoginLockedOut(exceptions.APIException):
    """Too many failed logins for this username or from this address: 429, saying until when."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self, lockout: lockouts.Lockout) -> None:
        super().__init__(lockout.message)
        self.wait = lockout.retry_after  # DRF's exception handler sends it as Retry-After


class SecondFactorNeeded(exceptions.APIException):
    """The password is right, but the user has two-factor authentication on: 401 until "code" comes too."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = (
        'Two-factor authentication is on for this user: send "code" with the current code from the '
        'authenticator app (or a recovery code), together with "username" and "password".'
    )
    default_code = "two_factor_required"


class SecondFactorFailed(exceptions.APIException):
    """The code sent is not right, not a code, or comes too soon after wrong ones: 401, saying which."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "two_factor_failed"


class SecondFactorNotSetUp(exceptions.APIException):
    """The company requires two-factor authentication of this user, who has not set it up: 403."""

    status_code = status.HTTP_403_FORBIDDEN
    default_detail = (
        "Your company requires two-factor authentication for your role, and you have not set it up: "
        'log in to procuresync in the browser and turn it on on the Your account page first, then send '
        '"code" with "username" and "password".'
    )
    default_code = "two_factor_setup_required"


def _check_second_factor(user: User, code: str) -> None:
    """Refuse a token to a password alone where the login page would ask for a code too."""
    step = two_factor.step_needed(user)
    if step is None:
        return
    if step is two_factor.Step.SET_UP:
        raise SecondFactorNotSetUp()
    if not code:  # missing, or only blanks (trimmed by TokenIn)
        raise SecondFactorNeeded()
    try:
        two_factor.check_code(user, code, step="API token")  # throttled and audited as on the page
    except ValidationFailed as exc:
        raise SecondFactorFailed(exc.message) from exc


class TokenView(APIView):
    """The caller's API token: got with a username and password (created on first use), revoked
    with itself."""

    # Password guessing: a few tries a minute per client address (settings.REST_FRAMEWORK rates),
    # and failed logins count towards a lockout as on the login page (django-axes).
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth-token"

    def _revoking(self) -> bool:
        # While DRF picks the authenticators, ``self.request`` is still Django's request; it is None
        # while drf-spectacular builds a stand-in request (the schema asks again once it is set).
        request = getattr(self, "request", None)
        return request is not None and request.method == "DELETE"

    def get_authenticators(self) -> list[BaseAuthentication]:
        # A password buys a token with no other credentials; giving a token back needs that token
        # (or a logged-in session).
        return super().get_authenticators() if self._revoking() else []

    def get_permissions(self) -> list[BasePermission]:
        return [IsAuthenticated()] if self._revoking() else [AllowAny()]

    @extend_schema(
        request=TokenIn,
        responses={200: TokenOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        """Exchange a username and password for the user's API token (created on first use).

        A user with two-factor authentication sends "code" too: the code their authenticator app
        shows now, or a recovery code. Without it the answer is 401 `two_factor_required`; with a
        wrong one, 401 `two_factor_failed` (after several, it says when to try again). A user whose
        company requires two-factor authentication and who has not set it up gets 403
        `two_factor_setup_required`: they turn it on in the browser first.

        After too many failed logins for a username, or from one address, this answers 429 until
        the time the message gives, as the login page does.
        """
        given = parsed(TokenIn, request.data).validated_data  # the JSON types first, as everywhere
        credentials = AuthTokenSerializer(data=request.data, context={"request": request})
        if not credentials.is_valid():
            # django-axes marks the request when it refused this try, or when this failure locked out.
            if getattr(request, "axes_locked_out", False):
                raise LoginLockedOut(lockouts.lockout_of(request._request, given["username"]))
            if "authorization" in str(credentials.errors.get("non_field_errors", [""])[0].code):
                raise WrongCredentials()
            raise exceptions.ValidationError(credentials.errors)
        user = credentials.validated_data["user"]
        _check_second_factor(user, given.get("code", ""))
        with transaction.atomic():
            token, created = Token.objects.get_or_create(user=user)
            if created:
                record(Action.TOKEN_CREATED, actor=user, target=user.username)
        if settings.AXES_RESET_ON_SUCCESS:
            # django-axes forgets a username's failed logins when Django's login signal fires, which a
            # token request does not send (it starts no session): forget them here as a login would.
            reset(username=user.get_username())
        return Response(TokenOut({"token": token.key}).data)

    @extend_schema(request=None, responses={204: None, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut})
    def delete(self, request: Request) -> Response:
        """Revoke the caller's API token: calls with it are refused from then on. POST gets a new one."""
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated
        with transaction.atomic():
            revoked, _ = Token.objects.filter(user=user).delete()
            if revoked:
                record(Action.TOKEN_REVOKED, actor=user, target=user.username)
        return Response(status=status.HTTP_204_NO_CONTENT)
