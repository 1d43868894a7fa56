"""Contains all the data models used in inputs/outputs"""

from .api_key import ApiKey
from .api_key_permissions_item import ApiKeyPermissionsItem
from .batch_op import BatchOp
from .batch_op_op import BatchOpOp
from .batch_request import BatchRequest
from .batch_response import BatchResponse
from .change import Change
from .change_op import ChangeOp
from .changes_page import ChangesPage
from .collection_info import CollectionInfo
from .collection_list import CollectionList
from .created_key import CreatedKey
from .created_key_permissions_item import CreatedKeyPermissionsItem
from .deleted import Deleted
from .document_page import DocumentPage
from .envelope import Envelope
from .health import Health
from .import_result import ImportResult
from .index import Index
from .index_list import IndexList
from .index_spec import IndexSpec
from .index_state import IndexState
from .issued_token import IssuedToken
from .key_list import KeyList
from .key_patch import KeyPatch
from .key_patch_permissions_item import KeyPatchPermissionsItem
from .key_spec import KeySpec
from .key_spec_permissions_item import KeySpecPermissionsItem
from .presence_list import PresenceList
from .presence_member import PresenceMember
from .problem import Problem
from .problem_code import ProblemCode
from .published import Published
from .query_plan import QueryPlan
from .rule_deleted import RuleDeleted
from .rule_list import RuleList
from .rule_spec import RuleSpec
from .rule_view import RuleView
from .ticket import Ticket
from .token_request import TokenRequest
from .token_request_claims_type_0 import TokenRequestClaimsType0
from .token_request_permissions_type_0_item import TokenRequestPermissionsType0Item

__all__ = (
    "ApiKey",
    "ApiKeyPermissionsItem",
    "BatchOp",
    "BatchOpOp",
    "BatchRequest",
    "BatchResponse",
    "Change",
    "ChangeOp",
    "ChangesPage",
    "CollectionInfo",
    "CollectionList",
    "CreatedKey",
    "CreatedKeyPermissionsItem",
    "Deleted",
    "DocumentPage",
    "Envelope",
    "Health",
    "ImportResult",
    "Index",
    "IndexList",
    "IndexSpec",
    "IndexState",
    "IssuedToken",
    "KeyList",
    "KeyPatch",
    "KeyPatchPermissionsItem",
    "KeySpec",
    "KeySpecPermissionsItem",
    "PresenceList",
    "PresenceMember",
    "Problem",
    "ProblemCode",
    "Published",
    "QueryPlan",
    "RuleDeleted",
    "RuleList",
    "RuleSpec",
    "RuleView",
    "Ticket",
    "TokenRequest",
    "TokenRequestClaimsType0",
    "TokenRequestPermissionsType0Item",
)
