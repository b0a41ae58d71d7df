"""KIS-style error replies. Codes marked "simulator choice" are not from KIS: docs/kis_protocol.md §6 lists
the codes KIS is known to send, §15 the ones the simulator picks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class KisError(Exception):
    http_status: int
    msg_cd: str
    msg1: str
    rt_cd: str = "1"

    def body(self) -> dict[str, str]:
        return {"rt_cd": self.rt_cd, "msg_cd": self.msg_cd, "msg1": self.msg1}


def missing_header(name: str) -> KisError:
    # simulator choice: EGW00205 for any missing required header, naming it
    return KisError(500, "EGW00205", f"필수 헤더가 없습니다 (missing required header '{name}')")


def unknown_service(detail: str) -> KisError:
    return KisError(500, "OPSQ0002", f"없는 서비스 코드 입니다 ({detail})")


def paper_refused(tr_id: str) -> KisError:
    return KisError(500, "MCA00124", f"해당 서비스를 찾을수 없습니다 ({tr_id} is real-account only)")


def bad_param(name: str, problem: str) -> KisError:
    # simulator choice: OPSQ2001 for an invalid or missing query parameter, naming it
    return KisError(500, "OPSQ2001", f"입력값 오류: {name} {problem}")


def no_data(what: str) -> KisError:
    # simulator choice: unknown codes answer HTTP 200 with rt_cd "7" (no data), as PYKIS reads "7"
    return KisError(200, "KIOK0560", f"조회할 자료가 없습니다 ({what})", rt_cd="7")


def rate_limited(http_status: int) -> KisError:
    return KisError(http_status, "EGW00201", "초당 거래건수를 초과하였습니다")


def token_expired(http_status: int) -> KisError:
    return KisError(http_status, "EGW00123", "기간이 만료된 token 입니다")


def token_invalid() -> KisError:
    return KisError(500, "EGW00121", "유효하지 않은 token 입니다")


def time_limit(last_refused: str = "15:40") -> KisError:
    # live (docs/kis_protocol.md §8): FHPTJ04160001 before 15:41 KST answers "TIME LIMIT 00:00 ~ 15:40"
    return KisError(200, "OPSQ2001", f"TIME LIMIT 00:00 ~ {last_refused}", rt_cd="2")


def history_limit(what: str) -> KisError:
    # the text is the spec's; code and status are a simulator choice
    return KisError(200, "OPSQ1002", f"8개월 이상 과거 조회 불가 ({what})")
