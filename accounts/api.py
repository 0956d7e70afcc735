"""REST endpoints about the caller: who am I, and a token for scripts (mounted under /api/v1/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.models import Company, User
from accounts.roles import roles_of
from procuresync.api import OptionalEmailField, parsed
from procuresync.api_errors import ErrorOut


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


class TokenView(APIView):
    """Exchange a username and password for the user's API token (created on first use)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Password guessing: a few tries a minute per client address (settings.REST_FRAMEWORK rates).
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth-token"

    @extend_schema(request=TokenIn, responses={200: TokenOut, 400: ErrorOut, 401: ErrorOut, 429: ErrorOut}, auth=[])
    def post(self, request: Request) -> Response:
        parsed(TokenIn, request.data)  # the JSON types first, as everywhere
        credentials = AuthTokenSerializer(data=request.data, context={"request": request})
        if not credentials.is_valid():
            if "authorization" in str(credentials.errors.get("non_field_errors", [""])[0].code):
                raise WrongCredentials()
            raise exceptions.ValidationError(credentials.errors)
        token, _ = Token.objects.get_or_create(user=credentials.validated_data["user"])
        return Response(TokenOut({"token": token.key}).data)
